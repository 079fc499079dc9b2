package githubactions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// dispatchSkew widens the search for a dispatched run: GitHub's clock and
// ours differ by a little, and created_at has whole seconds.
const dispatchSkew = 5 * time.Second

// maxRunJobs bounds the jobs a run's state reports (one page).
const maxRunJobs = 100

var _ connectors.RunFollower = (*Connector)(nil)

// claims are the run ids this connector already gave to a dispatch, so two
// dispatches of one workflow close together do not both take one run.
type claims struct {
	mu  sync.Mutex
	ids map[int64]bool
}

// claim takes id unless it is taken.
func (c *claims) claim(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[int64]bool{}
	}
	if c.ids[id] {
		return false
	}
	c.ids[id] = true
	return true
}

// runStatus maps a workflow run's (or job's) status and conclusion onto
// the hub's statuses.
func runStatus(status, conclusion string) (contracts.PipelineRunStatus, bool) {
	switch status {
	case "requested", "queued", "waiting", "pending":
		return contracts.RunQueued, true
	case "in_progress":
		return contracts.RunRunning, true
	case "completed":
		switch conclusion {
		case "success", "neutral":
			return contracts.RunSucceeded, true
		case "failure", "timed_out", "startup_failure", "action_required", "stale":
			return contracts.RunFailed, true
		case "cancelled", "skipped":
			return contracts.RunCancelled, true
		}
	}
	return "", false
}

// ghRun is the part of a workflow run the connector reads.
type ghRun struct {
	ID         int64     `json:"id"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion"`
	HTMLURL    string    `json:"html_url"`
	CreatedAt  time.Time `json:"created_at"`
}

// findRun looks for the run a dispatch started: the workflow's
// workflow_dispatch runs on the ref created since the dispatch (less the
// skew), newest first; the newest not yet claimed is it. ok is false when
// GitHub lists none yet.
func (c *Connector) findRun(ctx context.Context, run connectors.RunRef) (ghRun, bool, error) {
	if !workflowName.MatchString(run.Pipeline) || run.Since.IsZero() {
		return ghRun{}, false, resilience.New(resilience.InvalidConfig, "the run has neither an id nor the workflow and time of its dispatch")
	}
	q := url.Values{"event": {"workflow_dispatch"}, "per_page": {"30"},
		"created": {">=" + run.Since.Add(-dispatchSkew).UTC().Format(time.RFC3339)}}
	if run.Ref != "" {
		q.Set("branch", run.Ref)
	}
	var answer struct {
		WorkflowRuns []ghRun `json:"workflow_runs"`
	}
	if _, err := c.call(ctx, "find the run of the dispatch of "+run.Pipeline, request{method: http.MethodGet,
		path: c.repoPath + "/actions/workflows/" + url.PathEscape(run.Pipeline) + "/runs", query: q}, &answer); err != nil {
		return ghRun{}, false, err
	}
	for _, r := range answer.WorkflowRuns {
		if !r.CreatedAt.Before(run.Since.Add(-dispatchSkew)) && c.claimed.claim(r.ID) {
			return r, true, nil
		}
	}
	return ghRun{}, false, nil
}

// RunStatus reads the run (GET …/actions/runs/{id}) and its first page of
// jobs. A run dispatched without its id is first found (findRun): until
// GitHub lists it, it is queued; once found, the returned Ref carries its id.
func (c *Connector) RunStatus(ctx context.Context, run connectors.RunRef) (connectors.RunState, error) {
	out := connectors.RunState{Ref: run}
	var r ghRun
	if run.ID == "" {
		found, ok, err := c.findRun(ctx, run)
		if err != nil || !ok {
			out.Status = contracts.RunQueued
			return out, err
		}
		out.Ref.ID = strconv.FormatInt(found.ID, 10)
	}
	id, err := strconv.ParseInt(out.Ref.ID, 10, 64)
	if err != nil || id <= 0 {
		return connectors.RunState{}, resilience.New(resilience.InvalidConfig, "%q is not a GitHub workflow run id", out.Ref.ID)
	}
	what := fmt.Sprintf("read workflow run %d", id)
	path := c.repoPath + "/actions/runs/" + strconv.FormatInt(id, 10)
	if _, err := c.call(ctx, what, request{method: http.MethodGet, path: path}, &r); err != nil {
		return connectors.RunState{}, err
	}
	st, ok := runStatus(r.Status, r.Conclusion)
	if !ok {
		return connectors.RunState{}, resilience.New(resilience.UpstreamError, "%s: unknown status %q (conclusion %q)", what, r.Status, r.Conclusion)
	}
	out.Status = st
	if r.HTMLURL != "" {
		out.Ref.WebURL = r.HTMLURL
	}
	var jobs struct {
		Jobs []struct {
			Name       string `json:"name"`
			Status     string `json:"status"`
			Conclusion string `json:"conclusion"`
		} `json:"jobs"`
	}
	if _, err := c.call(ctx, fmt.Sprintf("list the jobs of workflow run %d", id), request{method: http.MethodGet, path: path + "/jobs",
		query: url.Values{"per_page": {strconv.Itoa(maxRunJobs)}}}, &jobs); err != nil {
		return connectors.RunState{}, err
	}
	for _, j := range jobs.Jobs {
		js, ok := runStatus(j.Status, j.Conclusion)
		if !ok {
			js = contracts.RunQueued
		}
		if j.Conclusion == "skipped" {
			js = "skipped"
		}
		out.Jobs = append(out.Jobs, contracts.PipelineJob{Name: j.Name, Status: string(js)})
	}
	return out, nil
}

// CancelRun cancels the run (POST …/actions/runs/{id}/cancel, 202). A run
// already completed answers 409: it is over, nothing to cancel. A run not
// found yet is a retryable error: its cancel waits until GitHub lists it.
func (c *Connector) CancelRun(ctx context.Context, run connectors.RunRef) error {
	if run.ID == "" {
		st, err := c.RunStatus(ctx, run)
		if err != nil {
			return err
		}
		if st.Ref.ID == "" {
			return resilience.New(resilience.UpstreamError, "cancel the dispatch of %s: GitHub does not list its run yet", run.Pipeline)
		}
		run = st.Ref
	}
	id, err := strconv.ParseInt(run.ID, 10, 64)
	if err != nil || id <= 0 {
		return resilience.New(resilience.InvalidConfig, "%q is not a GitHub workflow run id", run.ID)
	}
	_, err = c.call(ctx, fmt.Sprintf("cancel workflow run %d", id), request{method: http.MethodPost,
		path: c.repoPath + "/actions/runs/" + strconv.FormatInt(id, 10) + "/cancel", done: []int{http.StatusConflict}}, nil)
	return err
}
