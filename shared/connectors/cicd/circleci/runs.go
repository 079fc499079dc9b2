package circleci

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci/spec"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// uuid is the shape of CircleCI's pipeline, workflow and job ids.
var uuid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// cancelRetry is when a cancel of a pipeline still being set up (no
// workflow to cancel yet) is tried again.
const cancelRetry = 2 * time.Second

// cutSlug splits vcs/org/project into the VCS, org/project and the org.
func cutSlug(slug string) (vcs, rest, org string) {
	vcs, rest, _ = strings.Cut(slug, "/")
	org, _, _ = strings.Cut(rest, "/")
	return vcs, rest, org
}

// sameOrganization reports whether slug is a project of the integration's
// organization (its VCS and org), the only ones its runs may name.
func (c *Connector) sameOrganization(slug string) bool {
	if !spec.ProjectSlug.MatchString(slug) || hasDotSegment(slug) {
		return false
	}
	v1, _, o1 := cutSlug(slug)
	v2, _, o2 := cutSlug(c.project)
	return strings.EqualFold(o1, o2) && vcsName(v1) == vcsName(v2)
}

// vcsName is a slug's VCS with its short and long spellings as one.
func vcsName(v string) string {
	switch v {
	case "gh":
		return "github"
	case "bb":
		return "bitbucket"
	}
	return v
}

// triggerBody is the body of POST /project/{slug}/pipeline.
type triggerBody struct {
	Branch     string            `json:"branch,omitempty"`
	Tag        string            `json:"tag,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

// Trigger starts a pipeline of the project pipeline ("" is the configured
// project; another must be of the same organization) on ref: a branch
// (refs/heads/ stripped), or a tag given as refs/tags/<tag>; "" is the
// project's default branch. params are pipeline parameters, sent as
// strings. It returns the pipeline's id.
func (c *Connector) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (connectors.RunRef, error) {
	if pipeline == "" {
		pipeline = c.project
	}
	if !c.sameOrganization(pipeline) {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig,
			"the pipeline to trigger must be a CircleCI project slug of the integration's organization (vcs/org/project)")
	}
	if strings.ContainsFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '~' || r == '^' || r == ':' }) {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the ref %q is not a git ref", ref)
	}
	body := triggerBody{Parameters: params}
	if tag, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		body.Tag = tag
	} else {
		body.Branch = strings.TrimPrefix(ref, "refs/heads/")
	}
	var created struct {
		ID     string `json:"id"`
		Number int64  `json:"number"`
		State  string `json:"state"`
	}
	if _, err := c.call(ctx, "trigger a pipeline of "+pipeline, request{method: http.MethodPost, path: "/project" + slugPath(pipeline) + "/pipeline", body: body}, &created); err != nil {
		return connectors.RunRef{}, err
	}
	if !uuid.MatchString(created.ID) {
		return connectors.RunRef{}, resilience.New(resilience.UpstreamError, "trigger a pipeline of %s: CircleCI answered without the pipeline's id", pipeline)
	}
	return connectors.RunRef{ID: created.ID, Pipeline: pipeline, Ref: ref, WebURL: c.webURL(pipeline, created.Number)}, nil
}

// workflow is a workflow of GET /pipeline/{id}/workflow.
type workflow struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	PipelineID  string `json:"pipeline_id"`
	ProjectSlug string `json:"project_slug"`
}

// job is a job of GET /workflow/{id}/job.
type job struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Type   string `json:"type"`
}

// jobStatus maps a job's status onto the hub's names; started reports
// whether it ever ran.
func jobStatus(s string) (status string, started bool) {
	switch s {
	case "queued", "not_running", "blocked":
		return string(contracts.RunQueued), false
	case "running", "on_hold":
		return string(contracts.RunRunning), s == "running"
	case "success":
		return string(contracts.RunSucceeded), true
	case "failed", "infrastructure_fail", "timedout", "terminated-unknown", "unauthorized":
		return string(contracts.RunFailed), true
	case "canceled":
		return string(contracts.RunCancelled), true
	case "not_run":
		return "skipped", false
	case "retried":
		return "retried", true
	}
	return s, true
}

// workflowsStatus maps a pipeline's workflows: any still running, failing
// or on hold keeps it running; then any cancelled makes it cancelled, any
// failed, errored or unauthorized failed; else (success, not_run) it
// succeeded.
func workflowsStatus(ws []workflow) (contracts.PipelineRunStatus, bool) {
	var running, cancelled, failed bool
	for _, w := range ws {
		switch w.Status {
		case "running", "failing", "on_hold":
			running = true
		case "canceled":
			cancelled = true
		case "failed", "error", "unauthorized":
			failed = true
		case "success", "not_run":
		default:
			return "", false
		}
	}
	switch {
	case running:
		return contracts.RunRunning, true
	case cancelled:
		return contracts.RunCancelled, true
	case failed:
		return contracts.RunFailed, true
	}
	return contracts.RunSucceeded, true
}

// checkRun checks a RunRef: a pipeline id of a project of the
// integration's organization.
func (c *Connector) checkRun(run connectors.RunRef) error {
	if !uuid.MatchString(run.ID) || !c.sameOrganization(run.Pipeline) {
		return resilience.New(resilience.InvalidConfig, "%q of %q is not a CircleCI pipeline of the integration's organization", run.ID, run.Pipeline)
	}
	return nil
}

// readPipeline reads the pipeline of run and refuses one of another
// project than the run names.
func (c *Connector) readPipeline(ctx context.Context, run connectors.RunRef) (pipelineItem, error) {
	var p pipelineItem
	if _, err := c.call(ctx, "read pipeline "+run.ID, request{method: http.MethodGet, path: "/pipeline/" + run.ID}, &p); err != nil {
		return pipelineItem{}, err
	}
	if !strings.EqualFold(p.ProjectSlug, run.Pipeline) && !c.sameProject(p.ProjectSlug, run.Pipeline) {
		// The token's user may read other projects' pipelines; a run ref
		// naming one through another project is not this run.
		return pipelineItem{}, resilience.New(resilience.ResourceNotFound, "pipeline %s is not a pipeline of %s", run.ID, run.Pipeline)
	}
	return p, nil
}

// sameProject compares slugs across the VCS spellings (gh and github).
func (c *Connector) sameProject(a, b string) bool {
	_, ra, _ := cutSlug(a)
	_, rb, _ := cutSlug(b)
	return strings.EqualFold(ra, rb) && c.sameOrganization(a) && c.sameOrganization(b)
}

func (c *Connector) workflows(ctx context.Context, id string) ([]workflow, error) {
	what := "list the workflows of pipeline " + id
	return listAll(ctx, tokenPages[workflow](c, what, "/pipeline/"+id+"/workflow", nil), what)
}

// RunStatus reads the pipeline, its workflows and their jobs.
func (c *Connector) RunStatus(ctx context.Context, run connectors.RunRef) (connectors.RunState, error) {
	if err := c.checkRun(run); err != nil {
		return connectors.RunState{}, err
	}
	p, err := c.readPipeline(ctx, run)
	if err != nil {
		return connectors.RunState{}, err
	}
	out := connectors.RunState{Ref: run}
	if p.Number > 0 {
		out.Ref.WebURL = c.webURL(run.Pipeline, p.Number)
	}
	if p.State == "errored" {
		// The configuration did not compile (an unknown parameter, a branch
		// without config): no workflow will ever run.
		out.Status = contracts.RunFailed
		for _, e := range p.Errors {
			out.Jobs = append(out.Jobs, contracts.PipelineJob{Name: e.Type, Stage: "setup", Status: string(contracts.RunFailed)})
		}
		return out, nil
	}
	ws, err := c.workflows(ctx, run.ID)
	if err != nil {
		return connectors.RunState{}, err
	}
	if len(ws) == 0 {
		out.Status = contracts.RunQueued
		return out, nil
	}
	st, ok := workflowsStatus(ws)
	if !ok {
		return connectors.RunState{}, resilience.New(resilience.UpstreamError, "read pipeline %s: a workflow has an unknown status", run.ID)
	}
	started := false
	for _, w := range ws {
		what := "list the jobs of workflow " + w.ID
		if !uuid.MatchString(w.ID) {
			return connectors.RunState{}, resilience.New(resilience.UpstreamError, "read pipeline %s: a workflow id is not CircleCI's", run.ID)
		}
		jobs, err := listAll(ctx, tokenPages[job](c, what, "/workflow/"+w.ID+"/job", nil), what)
		if err != nil {
			return connectors.RunState{}, err
		}
		for _, j := range jobs {
			s, ran := jobStatus(j.Status)
			started = started || ran
			out.Jobs = append(out.Jobs, contracts.PipelineJob{Name: j.Name, Stage: w.Name, Status: s})
		}
	}
	out.Status = st
	if st == contracts.RunRunning && !started {
		out.Status = contracts.RunQueued
	}
	return out, nil
}

// CancelRun cancels each unfinished workflow of the pipeline. The
// workflows name their project, which must be the run's; only a pipeline
// without any is read itself: errored, there is nothing to cancel; still
// being set up, UPSTREAM_ERROR with a short Retry-After has the cancel
// tried again once its workflows exist.
func (c *Connector) CancelRun(ctx context.Context, run connectors.RunRef) error {
	if err := c.checkRun(run); err != nil {
		return err
	}
	ws, err := c.workflows(ctx, run.ID)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		p, err := c.readPipeline(ctx, run)
		if err != nil || p.State == "errored" {
			return err
		}
		return &resilience.Error{Code: resilience.UpstreamError, RetryAfter: cancelRetry,
			Message: "cancel pipeline " + run.ID + ": CircleCI is still setting it up and it has no workflow to cancel yet"}
	}
	for _, w := range ws {
		if !strings.EqualFold(w.ProjectSlug, run.Pipeline) && !c.sameProject(w.ProjectSlug, run.Pipeline) {
			return resilience.New(resilience.ResourceNotFound, "pipeline %s is not a pipeline of %s", run.ID, run.Pipeline)
		}
	}
	for _, w := range ws {
		if w.Status != "running" && w.Status != "failing" && w.Status != "on_hold" {
			continue
		}
		if !uuid.MatchString(w.ID) {
			return resilience.New(resilience.UpstreamError, "cancel pipeline %s: a workflow id is not CircleCI's", run.ID)
		}
		if _, err := c.call(ctx, "cancel workflow "+w.Name, request{method: http.MethodPost, path: "/workflow/" + w.ID + "/cancel"}, nil); err != nil {
			return err
		}
	}
	return nil
}
