package teamcity

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// cancelComment is the note TeamCity shows on a build the hub cancelled
// (canceledInfo.text).
const cancelComment = "Cancelled through the Integration Hub"

// maxParams and maxParamLength bound what a trigger sends: build
// parameters are names and short values, not payloads.
const (
	maxParams      = 100
	maxParamLength = 4096
)

// tcBuild is the part of a Build entity the connector reads.
type tcBuild struct {
	ID           int64  `json:"id"`
	BuildTypeID  string `json:"buildTypeId"`
	State        string `json:"state"`
	Status       string `json:"status"`
	BranchName   string `json:"branchName"`
	WebURL       string `json:"webUrl"`
	CanceledInfo *struct {
		Text string `json:"text"`
	} `json:"canceledInfo"`
}

type property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Trigger queues a build of the build configuration pipeline (its id,
// Project_Build) on the branch ref (the default branch when ""), with
// params as custom build parameters (names as TeamCity takes them:
// env.X, system.X, or a configuration parameter). It returns the build id.
func (c *Connector) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (connectors.RunRef, error) {
	if !externalID.MatchString(pipeline) {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the pipeline to trigger must be a TeamCity build configuration id (Project_Build)")
	}
	if len(params) > maxParams {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "%d build parameters: TeamCity triggers take at most %d here", len(params), maxParams)
	}
	if strings.ContainsFunc(ref, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len(ref) > maxParamLength {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the ref is not a branch name")
	}
	body := map[string]any{"buildType": map[string]string{"id": pipeline}}
	if ref != "" {
		body["branchName"] = ref
	}
	if len(params) > 0 {
		props := make([]property, 0, len(params))
		for _, name := range slices.Sorted(maps.Keys(params)) {
			if name == "" || strings.ContainsAny(name, " \t\r\n") || len(params[name]) > maxParamLength {
				return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "build parameter %q: a name without spaces and a value of at most %d bytes", name, maxParamLength)
			}
			props = append(props, property{Name: name, Value: params[name]})
		}
		body["properties"] = map[string]any{"property": props}
	}
	var b tcBuild
	if err := c.call(ctx, "queue a build of "+pipeline, request{method: http.MethodPost, path: "/app/rest/buildQueue", body: body}, &b); err != nil {
		return connectors.RunRef{}, err
	}
	if b.ID <= 0 {
		return connectors.RunRef{}, resilience.New(resilience.UpstreamError, "queue a build of %s: TeamCity answered without the build's id", pipeline)
	}
	return connectors.RunRef{ID: strconv.FormatInt(b.ID, 10), Pipeline: pipeline, Ref: ref, WebURL: b.WebURL}, nil
}

// buildID reads a RunRef's id: TeamCity's positive build id.
func buildID(run connectors.RunRef) (string, error) {
	n, err := strconv.ParseInt(run.ID, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != run.ID {
		return "", resilience.New(resilience.InvalidConfig, "%q is not a TeamCity build id", run.ID)
	}
	return run.ID, nil
}

// buildStatus maps a build's state, status and cancel onto the hub's
// statuses.
func buildStatus(b tcBuild) (contracts.PipelineRunStatus, bool) {
	switch {
	case b.State == "queued":
		return contracts.RunQueued, true
	case b.State == "running":
		return contracts.RunRunning, true
	case b.State != "finished":
		return "", false
	case b.CanceledInfo != nil:
		return contracts.RunCancelled, true
	case b.Status == "SUCCESS":
		return contracts.RunSucceeded, true
	case b.Status == "FAILURE" || b.Status == "ERROR":
		return contracts.RunFailed, true
	case b.Status == "UNKNOWN":
		// UNKNOWN is what TeamCity reports for a cancelled build.
		return contracts.RunCancelled, true
	}
	return "", false
}

// RunStatus reads the build (GET /app/rest/builds/id:N), which TeamCity
// finds in the queue, running or finished.
func (c *Connector) RunStatus(ctx context.Context, run connectors.RunRef) (connectors.RunState, error) {
	id, err := buildID(run)
	if err != nil {
		return connectors.RunState{}, err
	}
	var b tcBuild
	what := "read build " + id
	if err := c.call(ctx, what, request{method: http.MethodGet, path: "/app/rest/builds/id:" + id}, &b); err != nil {
		return connectors.RunState{}, err
	}
	st, ok := buildStatus(b)
	if !ok {
		return connectors.RunState{}, resilience.New(resilience.UpstreamError, "%s: unknown state %q (status %q)", what, b.State, b.Status)
	}
	out := connectors.RunState{Status: st, Ref: run}
	if b.WebURL != "" && b.State != "queued" {
		out.Ref.WebURL = b.WebURL
	}
	if out.Ref.Pipeline == "" {
		out.Ref.Pipeline = b.BuildTypeID
	}
	return out, nil
}

// CancelRun removes the build from the queue (POST
// /app/rest/buildQueue/id:N); once it left the queue (404 there) it stops
// the running build (POST /app/rest/builds/id:N). A build that is no
// longer running (TeamCity's 400) and has finished is done: nothing to
// cancel.
func (c *Connector) CancelRun(ctx context.Context, run connectors.RunRef) error {
	id, err := buildID(run)
	if err != nil {
		return err
	}
	body := map[string]any{"comment": cancelComment, "readdIntoQueue": false}
	err = c.call(ctx, "remove build "+id+" from the queue", request{method: http.MethodPost, path: "/app/rest/buildQueue/id:" + id, body: body}, nil)
	if resilience.CodeOf(err) != resilience.ResourceNotFound {
		return err
	}
	err = c.call(ctx, "stop build "+id, request{method: http.MethodPost, path: "/app/rest/builds/id:" + id, body: body}, nil)
	if resilience.CodeOf(err) != resilience.InvalidConfig {
		return err
	}
	st, rerr := c.RunStatus(ctx, run)
	if rerr == nil && st.Status.Final() {
		return nil
	}
	return err
}
