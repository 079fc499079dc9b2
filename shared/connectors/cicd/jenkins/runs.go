package jenkins

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// A run's id names the queue item until Jenkins starts its build, then the
// build: the queue forgets an item minutes after it left, the build stays.
const (
	queuePrefix = "queue:"
	buildPrefix = "build:"
)

var _ connectors.RunFollower = (*Connector)(nil)

// runID splits a RunRef id into its kind (queuePrefix or buildPrefix) and
// number.
func runID(run connectors.RunRef) (string, string, error) {
	for _, p := range []string{queuePrefix, buildPrefix} {
		if n, ok := strings.CutPrefix(run.ID, p); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 {
				if p == buildPrefix && !validFullName(run.Pipeline) {
					break
				}
				return p, n, nil
			}
		}
	}
	return "", "", resilience.New(resilience.InvalidConfig, "%q is not a Jenkins queue item or build of a job", run.ID)
}

// buildStatus maps a build's building flag and result onto the hub's
// statuses. A build not building without a result is finishing: running.
func buildStatus(building bool, result string) (contracts.PipelineRunStatus, bool) {
	switch {
	case building || result == "":
		return contracts.RunRunning, true
	case result == "SUCCESS":
		return contracts.RunSucceeded, true
	case result == "FAILURE" || result == "UNSTABLE":
		return contracts.RunFailed, true
	case result == "ABORTED" || result == "NOT_BUILT":
		return contracts.RunCancelled, true
	}
	return "", false
}

// RunStatus reads the queue item (GET /queue/item/{id}/api/json) until it
// names its build, then the build (GET /job/…/{n}/api/json). Once the
// build is known the returned Ref names it ("build:<n>").
func (c *Connector) RunStatus(ctx context.Context, run connectors.RunRef) (connectors.RunState, error) {
	kind, n, err := runID(run)
	if err != nil {
		return connectors.RunState{}, err
	}
	cred, err := c.credential(ctx)
	if err != nil {
		return connectors.RunState{}, err
	}
	out := connectors.RunState{Ref: run}
	if kind == queuePrefix {
		var item struct {
			Cancelled  bool `json:"cancelled"`
			Executable *struct {
				Number int64  `json:"number"`
				URL    string `json:"url"`
			} `json:"executable"`
		}
		if err := c.get(ctx, cred, "read queue item "+n, "/queue/item/"+n+"/api/json",
			url.Values{"tree": {"cancelled,executable[number,url]"}}, &item); err != nil {
			return connectors.RunState{}, err
		}
		switch {
		case item.Cancelled:
			out.Status = contracts.RunCancelled
			return out, nil
		case item.Executable == nil || item.Executable.Number <= 0:
			out.Status = contracts.RunQueued
			return out, nil
		}
		n = strconv.FormatInt(item.Executable.Number, 10)
		out.Ref.ID, out.Ref.WebURL = buildPrefix+n, item.Executable.URL
	}
	var b struct {
		Building bool   `json:"building"`
		Result   string `json:"result"`
		URL      string `json:"url"`
	}
	what := fmt.Sprintf("read build %s of %s", n, run.Pipeline)
	if err := c.get(ctx, cred, what, jobPath(run.Pipeline)+"/"+n+"/api/json",
		url.Values{"tree": {"building,result,url"}}, &b); err != nil {
		return connectors.RunState{}, err
	}
	st, ok := buildStatus(b.Building, b.Result)
	if !ok {
		return connectors.RunState{}, resilience.New(resilience.UpstreamError, "%s: unknown result %q", what, b.Result)
	}
	out.Status, out.Ref.ID = st, buildPrefix+n
	if b.URL != "" {
		out.Ref.WebURL = b.URL
	}
	return out, nil
}

// CancelRun cancels the queue item (POST /queue/cancelItem?id=) while it
// waits and stops the build (POST /job/…/{n}/stop) once it runs. A queue
// item that has already left names its build, which is then stopped.
func (c *Connector) CancelRun(ctx context.Context, run connectors.RunRef) error {
	kind, n, err := runID(run)
	if err != nil {
		return err
	}
	if kind == queuePrefix {
		st, err := c.RunStatus(ctx, run)
		if err != nil {
			return err
		}
		if st.Status == contracts.RunQueued {
			cred, err := c.credential(ctx)
			if err != nil {
				return err
			}
			_, err = c.post(ctx, cred, "cancel queue item "+n, request{path: "/queue/cancelItem", query: url.Values{"id": {n}}}, false)
			if resilience.CodeOf(err) != resilience.ResourceNotFound {
				return err
			}
			// The item left the queue between the read and the cancel:
			// its build is stopped instead.
			if st, err = c.RunStatus(ctx, run); err != nil {
				return err
			}
		}
		if st.Status.Final() {
			return nil
		}
		run = st.Ref
		_, n, _ = runID(run)
	}
	cred, err := c.credential(ctx)
	if err != nil {
		return err
	}
	_, err = c.post(ctx, cred, fmt.Sprintf("stop build %s of %s", n, run.Pipeline), request{path: jobPath(run.Pipeline) + "/" + n + "/stop"}, false)
	return err
}

// post sends r as a POST with a CSRF crumb (when Jenkins issues them) and
// returns the answer's headers. Jenkins answers some POSTs (stop) with a
// redirect to a page, which the client follows: the POST was taken then;
// strict refuses any redirect, for POSTs Jenkins answers directly (a
// redirect there is a proxy or http->https hop that lost the POST).
func (c *Connector) post(ctx context.Context, cred credential, what string, r request, strict bool) (http.Header, error) {
	cr, err := c.fetchCrumb(ctx, cred)
	if err != nil {
		return nil, err
	}
	r.method, r.cookies = http.MethodPost, cr.cookies
	if cr.field != "" {
		r.header = http.Header{http.CanonicalHeaderKey(cr.field): {cr.value}}
	}
	resp, err := c.send(ctx, cred, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer kit.Drain(resp)
	if strict && resp.Request != nil && resp.Request.Method != http.MethodPost {
		return nil, resilience.New(resilience.InvalidConfig, "%s: Jenkins redirected the request and the POST was lost: check url", what)
	}
	if err := c.check(resp, cred); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return resp.Header, nil
}
