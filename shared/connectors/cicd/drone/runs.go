package drone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// commitSHA is a full git commit id: a ref of this shape is sent as commit,
// any other as branch.
var commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// reservedParams are the query parameters Drone reads itself and does not
// pass to the build: a build parameter of that name would be lost.
var reservedParams = map[string]bool{"access_token": true, "commit": true, "branch": true}

// maxParams bounds what a trigger sends: parameters travel in the URL.
const (
	maxParams      = 50
	maxParamLength = 1024
)

// droneBuild is the part of a build the connector reads.
type droneBuild struct {
	Number int64  `json:"number"`
	Status string `json:"status"`
	Stages []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Steps  []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"steps"`
	} `json:"stages"`
}

// Trigger starts a custom build of the repository pipeline (owner/name) on
// ref: a branch (the repository's default branch when ""), or a commit
// when ref is a full 40-character sha. params become build parameters.
// It returns the build number.
func (c *Connector) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (connectors.RunRef, error) {
	path, err := repoPath(pipeline)
	if err != nil {
		return connectors.RunRef{}, err
	}
	if len(params) > maxParams {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "%d build parameters: Drone builds take at most %d here", len(params), maxParams)
	}
	q := url.Values{}
	for k, v := range params {
		if k == "" || reservedParams[k] || len(k)+len(v) > maxParamLength {
			return connectors.RunRef{}, resilience.New(resilience.InvalidConfig,
				"build parameter %q: Drone keeps access_token, commit and branch for itself, and a parameter has at most %d bytes", k, maxParamLength)
		}
		q.Set(k, v)
	}
	switch {
	case commitSHA.MatchString(ref):
		q.Set("commit", ref)
	case ref != "":
		if strings.ContainsFunc(ref, func(r rune) bool { return r <= 0x20 || r == 0x7f }) || len(ref) > maxParamLength {
			return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the ref is not a branch name or commit sha")
		}
		q.Set("branch", ref)
	}
	var raw json.RawMessage
	what := "start a build of " + pipeline
	if err := c.call(ctx, what, request{method: http.MethodPost, path: path + "/builds", query: q}, &raw); err != nil {
		return connectors.RunRef{}, err
	}
	if string(raw) == "null" {
		// Drone's triggerer skipped the build: a skip directive in the
		// commit message, or no pipeline of .drone.yml matches.
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig,
			"%s: Drone skipped the build (no pipeline matches a custom build of this ref, or the commit says [ci skip])", what)
	}
	var b droneBuild
	if err := json.Unmarshal(raw, &b); err != nil || b.Number <= 0 {
		return connectors.RunRef{}, resilience.New(resilience.UpstreamError, "%s: Drone answered without the build's number", what)
	}
	return connectors.RunRef{ID: strconv.FormatInt(b.Number, 10), Pipeline: pipeline, Ref: ref, WebURL: c.buildURL(pipeline, b.Number)}, nil
}

// status maps a Drone build, stage or step status onto the hub's.
func status(s string) (contracts.PipelineRunStatus, bool) {
	switch s {
	case "pending", "waiting_on_dependencies", "blocked":
		return contracts.RunQueued, true
	case "running":
		return contracts.RunRunning, true
	case "success":
		return contracts.RunSucceeded, true
	case "failure", "error":
		return contracts.RunFailed, true
	case "killed", "declined", "skipped":
		return contracts.RunCancelled, true
	}
	return "", false
}

// buildPath is the escaped API path of a run's build.
func buildPath(run connectors.RunRef) (string, error) {
	path, err := repoPath(run.Pipeline)
	if err != nil {
		return "", err
	}
	n, err := strconv.ParseInt(run.ID, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != run.ID {
		return "", resilience.New(resilience.InvalidConfig, "%q is not a Drone build number", run.ID)
	}
	return path + "/builds/" + run.ID, nil
}

// RunStatus reads the build (GET …/builds/{number}) with its stages; each
// step is a job of its stage (a stage without steps yet is one job).
func (c *Connector) RunStatus(ctx context.Context, run connectors.RunRef) (connectors.RunState, error) {
	path, err := buildPath(run)
	if err != nil {
		return connectors.RunState{}, err
	}
	var b droneBuild
	what := "read build " + run.ID + " of " + run.Pipeline
	if err := c.call(ctx, what, request{method: http.MethodGet, path: path}, &b); err != nil {
		return connectors.RunState{}, err
	}
	st, ok := status(b.Status)
	if !ok {
		return connectors.RunState{}, resilience.New(resilience.UpstreamError, "%s: unknown status %q", what, b.Status)
	}
	out := connectors.RunState{Status: st, Ref: run}
	out.Ref.WebURL = c.buildURL(run.Pipeline, b.Number)
	for _, stage := range b.Stages {
		if len(stage.Steps) == 0 {
			out.Jobs = append(out.Jobs, contracts.PipelineJob{Name: stage.Name, Stage: stage.Name, Status: jobStatus(stage.Status)})
		}
		for _, step := range stage.Steps {
			out.Jobs = append(out.Jobs, contracts.PipelineJob{Name: step.Name, Stage: stage.Name, Status: jobStatus(step.Status)})
		}
	}
	return out, nil
}

// jobStatus is a stage's or step's status as a job's: skipped stays
// skipped; one unknown is queued (not yet reported).
func jobStatus(s string) string {
	if s == "skipped" {
		return "skipped"
	}
	if st, ok := status(s); ok {
		return string(st)
	}
	return string(contracts.RunQueued)
}

// CancelRun kills the build (DELETE …/builds/{number}); Drone leaves a
// finished build as it is.
func (c *Connector) CancelRun(ctx context.Context, run connectors.RunRef) error {
	path, err := buildPath(run)
	if err != nil {
		return err
	}
	return c.call(ctx, "cancel build "+run.ID+" of "+run.Pipeline, request{method: http.MethodDelete, path: path}, nil)
}
