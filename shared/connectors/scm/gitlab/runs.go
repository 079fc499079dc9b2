package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxRunJobs bounds the jobs a run's state reports (one page of GitLab's
// largest size): enough to show progress, never an unbounded read.
const maxRunJobs = 100

// runStatus maps GitLab's pipeline and job statuses onto the hub's. A
// pipeline waiting on a manual job is still open, so it counts as running.
func runStatus(s string) (contracts.PipelineRunStatus, bool) {
	switch s {
	case "created", "waiting_for_resource", "preparing", "pending", "scheduled":
		return contracts.RunQueued, true
	case "running", "manual", "canceling":
		return contracts.RunRunning, true
	case "success":
		return contracts.RunSucceeded, true
	case "failed":
		return contracts.RunFailed, true
	case "canceled", "skipped":
		return contracts.RunCancelled, true
	}
	return "", false
}

// jobStatus is runStatus for a job, which may also be skipped.
func jobStatus(s string) string {
	if s == "skipped" {
		return "skipped"
	}
	if st, ok := runStatus(s); ok {
		return string(st)
	}
	return string(contracts.RunQueued)
}

// runPath is the pipeline's API path; the ref's project is the configured
// one when it names none.
func (c *CIConnector) runPath(run connectors.RunRef) (string, error) {
	project, err := c.projectOf(run.Pipeline)
	if err != nil {
		return "", err
	}
	if _, err := strconv.ParseInt(run.ID, 10, 64); err != nil {
		return "", resilience.New(resilience.InvalidConfig, "%q is not a GitLab pipeline id", run.ID)
	}
	return projectPath(project) + "/pipelines/" + run.ID, nil
}

// RunStatus reads the pipeline (GET /projects/:id/pipelines/:pipeline_id)
// and the first page of its jobs.
func (c *CIConnector) RunStatus(ctx context.Context, run connectors.RunRef) (connectors.RunState, error) {
	path, err := c.runPath(run)
	if err != nil {
		return connectors.RunState{}, err
	}
	var p struct {
		Status string `json:"status"`
		WebURL string `json:"web_url"`
		Ref    string `json:"ref"`
	}
	what := "read pipeline " + run.ID
	if _, err := c.call(ctx, what, request{method: http.MethodGet, path: path}, &p); err != nil {
		return connectors.RunState{}, err
	}
	st, ok := runStatus(p.Status)
	if !ok {
		return connectors.RunState{}, resilience.New(resilience.UpstreamError, "%s: unknown status %q", what, p.Status)
	}
	var jobs []struct {
		Name   string `json:"name"`
		Stage  string `json:"stage"`
		Status string `json:"status"`
	}
	if _, err := c.call(ctx, "list the jobs of pipeline "+run.ID, request{method: http.MethodGet, path: path + "/jobs",
		query: url.Values{"per_page": {strconv.Itoa(maxRunJobs)}}}, &jobs); err != nil {
		return connectors.RunState{}, err
	}
	out := connectors.RunState{Status: st, Ref: run}
	if p.WebURL != "" {
		out.Ref.WebURL = p.WebURL
	}
	// GitLab lists jobs newest first; a run reads better in order.
	for i := len(jobs) - 1; i >= 0; i-- {
		j := jobs[i]
		out.Jobs = append(out.Jobs, contracts.PipelineJob{Name: j.Name, Stage: j.Stage, Status: jobStatus(j.Status)})
	}
	return out, nil
}

// CancelRun cancels the pipeline (POST /projects/:id/pipelines/:id/cancel).
func (c *CIConnector) CancelRun(ctx context.Context, run connectors.RunRef) error {
	path, err := c.runPath(run)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, fmt.Sprintf("cancel pipeline %s", run.ID), request{method: http.MethodPost, path: path + "/cancel"}, nil)
	return err
}
