package azuredevops

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// run is a Run of the Pipelines API.
type run struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Result string `json:"result"`
	URL    string `json:"url"`
	Links  links  `json:"_links"`
}

// variable is a run variable of the Run Pipeline body.
type variable struct {
	Value    string `json:"value"`
	IsSecret bool   `json:"isSecret"`
}

// runBody is RunPipelineParameters.
type runBody struct {
	Resources          *runResources       `json:"resources,omitempty"`
	TemplateParameters map[string]string   `json:"templateParameters,omitempty"`
	Variables          map[string]variable `json:"variables,omitempty"`
}

type runResources struct {
	Repositories map[string]repositoryResource `json:"repositories"`
}

type repositoryResource struct {
	RefName string `json:"refName"`
}

// pipelineID reads a pipeline id (a positive int32, as the API declares).
func pipelineID(s string) (string, bool) {
	v, err := strconv.ParseInt(s, 10, 32)
	return strconv.FormatInt(v, 10), err == nil && v > 0
}

// refName is ref as Azure DevOps takes it: a full ref as it is, a branch
// name under refs/heads/.
func refName(ref string) string {
	if strings.HasPrefix(ref, "refs/") {
		return ref
	}
	return "refs/heads/" + ref
}

// resolvePipeline finds a pipeline by name, or by its folder path
// (release/deploy): exactly one must match.
func (c *Connector) resolvePipeline(ctx context.Context, name string) (string, error) {
	var found []string
	page := ""
	for range maxListRequests * 10 {
		items, next, err := c.pipelinePages(ctx, page, 0)
		if err != nil {
			return "", err
		}
		for _, r := range items {
			folder, _ := r.Attributes["folder"].(string)
			if r.Name == name || folderPath(folder, r.Name) == strings.Trim(strings.ReplaceAll(name, `\`, "/"), "/") {
				found = append(found, r.ID)
			}
		}
		if next == "" {
			break
		}
		page = next
	}
	switch len(found) {
	case 0:
		return "", resilience.New(resilience.ResourceNotFound, "no pipeline of project %s is named %q", c.project, name)
	case 1:
		return found[0], nil
	}
	return "", resilience.New(resilience.InvalidConfig, "%d pipelines of project %s are named %q: give the folder path or the id", len(found), c.project, name)
}

// Trigger runs the pipeline (its numeric id, or its name or folder path,
// looked up in the project's pipelines) on ref (a branch, or a full
// ref such as refs/tags/v1; "" is the pipeline's default branch) with
// params as template parameters or variables (config parametersAs). It
// returns the run's id, which is also its build's.
func (c *Connector) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (connectors.RunRef, error) {
	id, ok := pipelineID(pipeline)
	if !ok {
		if pipeline == "" || len(pipeline) > 1024 || strings.ContainsFunc(pipeline, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the pipeline to run must be an Azure Pipelines pipeline id, name or folder path")
		}
		var err error
		if id, err = c.resolvePipeline(ctx, pipeline); err != nil {
			return connectors.RunRef{}, err
		}
	}
	if strings.ContainsFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '~' || r == '^' || r == ':' }) {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the ref %q is not a git ref", ref)
	}
	var body runBody
	if ref != "" {
		body.Resources = &runResources{Repositories: map[string]repositoryResource{"self": {RefName: refName(ref)}}}
	}
	if len(params) > 0 {
		if c.parametersAs == ParamsVariables {
			body.Variables = make(map[string]variable, len(params))
			for k, v := range params {
				body.Variables[k] = variable{Value: v}
			}
		} else {
			body.TemplateParameters = params
		}
	}
	var r run
	if _, err := c.call(ctx, "run pipeline "+id, request{method: http.MethodPost, path: c.projectPath + "/_apis/pipelines/" + id + "/runs", body: body}, &r); err != nil {
		return connectors.RunRef{}, err
	}
	if r.ID <= 0 {
		return connectors.RunRef{}, resilience.New(resilience.UpstreamError, "run pipeline %s: Azure DevOps answered without the run's id", id)
	}
	// Pipeline is the id, which RunStatus reads the run by.
	return connectors.RunRef{ID: strconv.FormatInt(r.ID, 10), Pipeline: id, Ref: ref, WebURL: r.Links.Web.Href}, nil
}

// runIDs checks a RunRef: the pipeline's and the run's ids.
func runIDs(ref connectors.RunRef) (pipeline, run string, err error) {
	p, ok1 := pipelineID(ref.Pipeline)
	r, ok2 := pipelineID(ref.ID)
	if !ok1 || !ok2 {
		return "", "", resilience.New(resilience.InvalidConfig, "%q of pipeline %q is not an Azure Pipelines run (numeric ids)", ref.ID, ref.Pipeline)
	}
	return p, r, nil
}

// timeline is a build's timeline: its stages, phases, jobs and tasks.
type timeline struct {
	Records []record `json:"records"`
}

type record struct {
	ID       string `json:"id"`
	ParentID string `json:"parentId"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Result   string `json:"result"`
	Order    int    `json:"order"`
}

// recordStatus maps a timeline record's state and result.
func recordStatus(r record) string {
	switch r.State {
	case "pending":
		return string(contracts.RunQueued)
	case "inProgress":
		return string(contracts.RunRunning)
	}
	switch r.Result {
	case "succeeded", "succeededWithIssues":
		return string(contracts.RunSucceeded)
	case "failed", "abandoned":
		return string(contracts.RunFailed)
	case "canceled":
		return string(contracts.RunCancelled)
	case "skipped":
		return "skipped"
	}
	return r.State
}

// jobs are the timeline's Job records with the Stage each belongs to
// (Job → Phase → Stage), in timeline order, and whether one has started.
func (t timeline) jobs() ([]contracts.PipelineJob, bool) {
	byID := make(map[string]record, len(t.Records))
	for _, r := range t.Records {
		byID[r.ID] = r
	}
	stageOf := func(r record) string {
		for range 4 {
			p, ok := byID[r.ParentID]
			if !ok {
				return ""
			}
			if p.Type == "Stage" {
				return p.Name
			}
			r = p
		}
		return ""
	}
	var out []contracts.PipelineJob
	started := false
	for _, r := range t.Records {
		if r.Type != "Job" {
			continue
		}
		if r.State != "" && r.State != "pending" {
			started = true
		}
		out = append(out, contracts.PipelineJob{Name: r.Name, Stage: stageOf(r), Status: recordStatus(r)})
	}
	return out, started
}

// runStatus maps a run's state and result. canceling is still running:
// the agent is stopping it, and the run may yet end otherwise.
func runStatus(state, result string) (contracts.PipelineRunStatus, bool) {
	switch state {
	case "inProgress", "canceling":
		return contracts.RunRunning, true
	case "completed":
		switch result {
		case "succeeded":
			return contracts.RunSucceeded, true
		case "failed":
			return contracts.RunFailed, true
		case "canceled":
			return contracts.RunCancelled, true
		}
	}
	return "", false
}

// RunStatus reads the run (GET …/pipelines/{id}/runs/{runId}) and its
// build's timeline for stages and jobs: a run in progress none of whose
// jobs has started waits for an agent, queued.
func (c *Connector) RunStatus(ctx context.Context, ref connectors.RunRef) (connectors.RunState, error) {
	p, id, err := runIDs(ref)
	if err != nil {
		return connectors.RunState{}, err
	}
	var r run
	what := fmt.Sprintf("read run %s of pipeline %s", id, p)
	if _, err := c.call(ctx, what, request{method: http.MethodGet, path: c.projectPath + "/_apis/pipelines/" + p + "/runs/" + id}, &r); err != nil {
		return connectors.RunState{}, err
	}
	st, ok := runStatus(r.State, r.Result)
	if !ok {
		return connectors.RunState{}, resilience.New(resilience.UpstreamError, "%s: unknown state %q with result %q", what, r.State, r.Result)
	}
	out := connectors.RunState{Status: st, Ref: ref}
	if r.Links.Web.Href != "" {
		out.Ref.WebURL = r.Links.Web.Href
	}
	// A timeline is absent (204, or null) until the run is planned.
	var tl timeline
	if _, err := c.call(ctx, "read the timeline of run "+id, request{method: http.MethodGet, path: c.projectPath + "/_apis/build/builds/" + id + "/timeline"}, &tl); err != nil {
		return connectors.RunState{}, err
	}
	jobs, started := tl.jobs()
	out.Jobs = jobs
	if st == contracts.RunRunning && r.State == "inProgress" && !started {
		out.Status = contracts.RunQueued
	}
	return out, nil
}

// CancelRun asks the build behind the run to stop (PATCH
// _apis/build/builds/{runId} {"status":"cancelling"}); a run already
// completed stays as it ended.
func (c *Connector) CancelRun(ctx context.Context, ref connectors.RunRef) error {
	_, id, err := runIDs(ref)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, "cancel run "+id, request{method: http.MethodPatch, path: c.projectPath + "/_apis/build/builds/" + id,
		body: map[string]string{"status": "cancelling"}}, nil)
	return err
}
