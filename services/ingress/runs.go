package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/pipelineruns"
)

// The routes of the pipeline-run endpoints.
var (
	routeTrigger = bus.Route{Name: "api pipeline trigger", Produces: []string{contracts.SubjectPipelineTrigger + ".>"},
		Awaits: []string{contracts.SubjectRunStarted + ".>"}}
	routeCancel = bus.Route{Name: "api pipeline cancel", Produces: []string{contracts.SubjectPipelineCancel + ".>"}}
)

// triggerBody is what POST /integrations/{id}/runs accepts.
type triggerBody struct {
	Pipeline   string            `json:"pipeline"`
	Ref        string            `json:"ref,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

// runAccepted is the 202 answer of a trigger: the run's id, under which it
// is read, and the command's request id.
type runAccepted struct {
	RunID     string `json:"runId"`
	RequestID string `json:"requestId"`
}

// runs serves an integration's pipeline runs: triggers and cancels are
// bus commands to the pipeline-runner, reads its request-reply endpoints.
type runs struct {
	s      *server
	client *pipelineruns.Client
	// poll is how often a trigger waiting for its start reads the run.
	poll time.Duration
}

func newRuns(s *server) *runs {
	return &runs{s: s, client: pipelineruns.NewClient(s.nc, s.cfg.CallTimeout), poll: 250 * time.Millisecond}
}

// integration answers the integration's 404 (the same for another tenant's)
// before anything about its runs is said.
func (h *runs) integration(r *http.Request) (tenant, id string, err error) {
	tenant, id = principalOf(r.Context()).TenantID, r.PathValue("id")
	_, err = h.s.catalog.Get(r.Context(), catalog.GetRequest{TenantID: tenant, ID: id})
	return tenant, id, err
}

func (h *runs) collection() methods {
	return methods{http.MethodPost: h.trigger, http.MethodGet: h.list}
}

func (h *runs) trigger(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := h.integration(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var in triggerBody
	if err := decodeBody(w, r, h.s.cfg.BodyLimit, &in); err != nil {
		writeError(w, err)
		return
	}
	if in.Pipeline == "" {
		writeError(w, apierr.BadRequest(apierr.MissingRequiredField, "pipeline is required").With("field", "pipeline"))
		return
	}
	wait := r.URL.Query().Get("wait")
	if wait != "" && wait != "started" {
		writeError(w, apierr.BadRequest(apierr.InvalidQuery, "wait must be started or absent"))
		return
	}
	cmd := contracts.PipelineTriggerRequested{
		RequestID: uuid.NewString(), TenantID: tenant, IntegrationID: id, Pipeline: in.Pipeline, Ref: in.Ref,
		Parameters: in.Parameters, IdempotencyKey: r.Header.Get(headerIdempotencyKey),
	}
	runID := pipelineruns.RunID(cmd)
	var started chan contracts.PipelineRun
	if wait != "" {
		// Subscribed before the command goes out, so the event cannot pass
		// unseen; a retried trigger's run may have started long ago, which
		// the reads below find.
		started = make(chan contracts.PipelineRun, 1)
		sub, err := h.s.nc.Subscribe(contracts.Subject(contracts.SubjectRunStarted, tenant, id), func(m *nats.Msg) {
			var ev contracts.PipelineRunEvent
			if json.Unmarshal(m.Data, &ev) == nil && ev.Run.RunID == runID {
				select {
				case started <- ev.Run:
				default:
				}
			}
		})
		if err != nil {
			writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the bus cannot be reached"))
			return
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	if _, err := h.s.triggerOut.Publish(r.Context(), bus.Event{
		ID: "pipeline-trigger:" + cmd.RequestID, Subject: contracts.Subject(contracts.SubjectPipelineTrigger, tenant, id),
		TenantID: tenant, DataSubject: id, Data: cmd,
	}); err != nil {
		writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the trigger could not be queued"))
		return
	}
	w.Header().Set("Location", "/api/v1/integrations/"+id+"/runs/"+runID)
	if wait == "" {
		writeJSON(w, http.StatusAccepted, runAccepted{RunID: runID, RequestID: cmd.RequestID})
		return
	}
	run, err := h.waitStarted(r.Context(), tenant, id, runID, started)
	if err != nil {
		writeError(w, apierr.From(err).With("runId", runID))
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// waitStarted waits for the run's start: its pipeline.run.started, or a
// read showing the provider's id or a final state.
func (h *runs) waitStarted(ctx context.Context, tenant, id, runID string, started <-chan contracts.PipelineRun) (contracts.PipelineRun, error) {
	ctx, cancel := context.WithTimeout(ctx, h.s.cfg.TestTimeout)
	defer cancel()
	tick := time.NewTicker(h.poll)
	defer tick.Stop()
	for {
		select {
		case run := <-started:
			return run, nil
		case <-tick.C:
			run, err := h.client.Get(ctx, pipelineruns.GetRequest{TenantID: tenant, IntegrationID: id, RunID: runID})
			if err == nil && (run.ProviderRunID != "" || run.Status.Final()) {
				return run, nil
			}
		case <-ctx.Done():
			return contracts.PipelineRun{}, apierr.New(http.StatusGatewayTimeout, apierr.Timeout,
				"the run did not start within %s; it is still queued and its start will be published as pipeline.run.started", h.s.cfg.TestTimeout)
		}
	}
}

func (h *runs) list(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := h.integration(r)
	if err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	req := pipelineruns.ListRequest{TenantID: tenant, IntegrationID: id, Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > pipelineruns.MaxLimit {
			writeError(w, apierr.BadRequest(apierr.InvalidQuery, "limit must be a whole number from 1 to %d", pipelineruns.MaxLimit))
			return
		}
		req.Limit = n
	}
	out, err := h.client.List(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *runs) get(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := h.integration(r)
	if err != nil {
		writeError(w, err)
		return
	}
	run, err := h.client.Get(r.Context(), pipelineruns.GetRequest{TenantID: tenant, IntegrationID: id, RunID: r.PathValue("runId")})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// cancel asks the runner to cancel the run; the answer is 202 with the run
// as it is now, and its pipeline.run.completed follows.
func (h *runs) cancel(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := h.integration(r)
	if err != nil {
		writeError(w, err)
		return
	}
	run, err := h.client.Get(r.Context(), pipelineruns.GetRequest{TenantID: tenant, IntegrationID: id, RunID: r.PathValue("runId")})
	if err != nil {
		writeError(w, err)
		return
	}
	if !run.Status.Final() {
		reqID := uuid.NewString()
		if _, err := h.s.cancelOut.Publish(r.Context(), bus.Event{
			ID: "pipeline-cancel:" + reqID, Subject: contracts.Subject(contracts.SubjectPipelineCancel, tenant, id),
			TenantID: tenant, DataSubject: id,
			Data: contracts.PipelineCancelRequested{RequestID: reqID, TenantID: tenant, IntegrationID: id, RunID: run.RunID},
		}); err != nil {
			writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the cancel could not be queued"))
			return
		}
	}
	writeJSON(w, http.StatusAccepted, run)
}

// hook relays a provider's webhook to the pipeline-runner, which checks its
// signature: the route takes no bearer token, the provider's signature is
// its authentication. The answers are the runner's: 202, 401 for a missing
// or wrong signature, 404 for an integration that takes no webhook.
func (h *runs) hook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("integrationId")
	if uuid.Validate(id) != nil {
		writeError(w, apierr.New(http.StatusNotFound, apierr.NotFound, "no webhook is configured for this integration"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, pipelineruns.MaxHookBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, apierr.New(http.StatusRequestEntityTooLarge, apierr.PayloadTooLarge, "request body is larger than %d bytes", pipelineruns.MaxHookBody))
		return
	}
	if err != nil {
		writeError(w, apierr.BadRequest(apierr.MalformedJSON, "request body could not be read"))
		return
	}
	req := pipelineruns.HookRequest{IntegrationID: id, Body: body, Headers: map[string]string{}}
	for _, k := range pipelineruns.HookHeaders {
		if v := r.Header.Get(k); v != "" {
			req.Headers[k] = v
		}
	}
	out, err := h.client.Hook(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, out)
}
