package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus/ops"
)

// The operator endpoints read and replay INTHUB_EVENTS and manage the dead
// letters of INTHUB_DLQ, through shared/bus/ops. Operators run the hub, so
// these endpoints are cross-tenant: the operator role, not the token's
// tenant, is what grants them; tenantId narrows a selection to one tenant
// (docs/decisions/0005-operator-endpoints.md).

// codeMessageNotFound is the 404 of a dead letter that does not exist (any
// more): redriven, deleted, purged or never there.
const codeMessageNotFound = "MESSAGE_NOT_FOUND"

// sseHeartbeat is how often an idle event stream sends a comment, so
// proxies keep it open and a gone client is noticed.
const sseHeartbeat = 15 * time.Second

// operatorOnly refuses principals without the operator role. It runs
// before method dispatch, so a tenant token learns nothing about these
// endpoints but that they are not for it.
func (s *server) operatorOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !principalOf(r.Context()).HasRole(RoleOperator) {
			writeError(w, apierr.New(http.StatusForbidden, apierr.Forbidden, "this endpoint is for hub operators: the token needs the %s role", RoleOperator))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) operations() *ops.Service { return ops.New(s.bus.JetStream(), ops.Options{}) }

// queryParams returns the query, refusing parameters not in allowed and
// repeated ones: a misspelt filter must not widen a purge or a replay.
func queryParams(r *http.Request, allowed ...string) (url.Values, error) {
	q := r.URL.Query()
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			return nil, apierr.BadRequest(apierr.InvalidQuery, "unknown query parameter %q (known: %s)", truncate(k, 64), strings.Join(allowed, ", ")).With("parameter", truncate(k, 64))
		}
		if len(v) > 1 {
			return nil, apierr.BadRequest(apierr.InvalidQuery, "query parameter %q is given %d times", k, len(v)).With("parameter", k)
		}
	}
	return q, nil
}

// seqValue parses a stream sequence: a whole number from 1; empty is 0.
func seqValue(name, v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, apierr.BadRequest(apierr.InvalidQuery, "%s must be a stream sequence: a whole number from 1", name).With("parameter", name)
	}
	return n, nil
}

// limitValue parses limit: a whole number from 1 to max; empty is 0 (the default).
func limitValue(v string, max int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, apierr.BadRequest(apierr.InvalidQuery, "limit must be a whole number from 1 to %d", max).With("parameter", "limit")
	}
	return n, nil
}

// opsError turns an ops error into the API's. inBody says the parameters
// came in a JSON body (field errors) rather than the query.
func (s *server) opsError(ctx context.Context, err error, inBody bool) error {
	var inv *ops.InvalidError
	var budget *ops.BudgetError
	switch {
	case errors.As(err, &inv) && inv.Field == "tenantId":
		return apierr.BadRequest(apierr.InvalidTenant, "%s", inv.Error()).With(paramKey(inBody), inv.Field)
	case errors.As(err, &inv) && inBody:
		return apierr.BadRequest(apierr.InvalidFieldValue, "%s", inv.Error()).With("field", inv.Field)
	case errors.As(err, &inv):
		return apierr.BadRequest(apierr.InvalidQuery, "%s", inv.Error()).With("parameter", inv.Field)
	case errors.Is(err, ops.ErrNotFound):
		return apierr.New(http.StatusNotFound, codeMessageNotFound, "no such dead letter: it was redriven, deleted or purged, or never existed")
	case errors.As(err, &budget):
		return apierr.New(http.StatusGatewayTimeout, apierr.Timeout, "the stream gave no event within %s; narrow the selection or try again", budget.Budget)
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, context.DeadlineExceeded):
		s.logger.WarnContext(ctx, "operator call: bus unavailable", "error", err.Error())
		return apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the bus cannot be reached")
	}
	s.logger.ErrorContext(ctx, "operator call failed", "error", err.Error())
	return err
}

func paramKey(inBody bool) string {
	if inBody {
		return "field"
	}
	return "parameter"
}

// opEvents answers GET /api/v1/operator/events: one page of stored events.
func (s *server) opEvents(w http.ResponseWriter, r *http.Request) {
	q, err := queryParams(r, "subject", "tenantId", "since", "until", "fromSeq", "toSeq", "limit")
	if err != nil {
		writeError(w, err)
		return
	}
	svc := s.operations()
	query := ops.Query{Subject: q.Get("subject"), TenantID: q.Get("tenantId")}
	if err := parseRange(svc, q, &query); err != nil {
		writeError(w, err)
		return
	}
	if query.Limit, err = limitValue(q.Get("limit"), ops.MaxLimit); err != nil {
		writeError(w, err)
		return
	}
	page, err := svc.Events(r.Context(), query)
	if err != nil {
		writeError(w, s.opsError(r.Context(), err, false))
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// parseRange reads since, until, fromSeq and toSeq from the query.
func parseRange(svc *ops.Service, q url.Values, query *ops.Query) error {
	var err error
	if query.Since, err = svc.ParseTime("since", q.Get("since")); err != nil {
		return apierr.BadRequest(apierr.InvalidQuery, "%s", err.Error()).With("parameter", "since")
	}
	if query.Until, err = svc.ParseTime("until", q.Get("until")); err != nil {
		return apierr.BadRequest(apierr.InvalidQuery, "%s", err.Error()).With("parameter", "until")
	}
	if query.FromSeq, err = seqValue("fromSeq", q.Get("fromSeq")); err != nil {
		return err
	}
	query.ToSeq, err = seqValue("toSeq", q.Get("toSeq"))
	return err
}

// opEventStream answers GET /api/v1/operator/events/stream: new events as
// Server-Sent Events, one `id: <seq>` / `data: <event JSON>` per event,
// until the client goes. A client that reconnects with Last-Event-ID
// resumes after that sequence.
func (s *server) opEventStream(w http.ResponseWriter, r *http.Request) {
	q, err := queryParams(r, "subject", "tenantId")
	if err != nil {
		writeError(w, err)
		return
	}
	after, err := seqValue("Last-Event-ID", r.Header.Get("Last-Event-ID"))
	if err != nil {
		writeError(w, err)
		return
	}
	tail, err := s.operations().Tail(r.Context(), ops.TailQuery{Subject: q.Get("subject"), TenantID: q.Get("tenantId"), AfterSeq: after})
	if err != nil {
		writeError(w, s.opsError(r.Context(), err, false))
		return
	}
	defer tail.Close()
	rc := http.NewResponseController(w)
	// The server's WriteTimeout (90s) would cut the stream: each write sets
	// its own deadline instead, and no read deadline is left to end it.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) error {
		_ = rc.SetWriteDeadline(time.Now().Add(2 * sseHeartbeat))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send(": following new events; a comment every %s while idle\nretry: 3000\n\n", sseHeartbeat) != nil {
		return
	}
	for {
		ctx, cancel := context.WithTimeout(r.Context(), sseHeartbeat)
		ev, err := tail.Next(ctx)
		cancel()
		switch {
		case r.Context().Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			err = send(": heartbeat\n\n")
		case err != nil:
			s.logger.ErrorContext(r.Context(), "event stream failed", "error", err.Error())
			body, _ := json.Marshal(apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the event stream broke; reconnect with Last-Event-ID").Body())
			_ = send("event: error\ndata: %s\n\n", body)
			return
		default:
			data, merr := json.Marshal(ev)
			if merr != nil {
				s.logger.ErrorContext(r.Context(), "event stream: encode event", "seq", ev.Sequence, "error", merr.Error())
				continue
			}
			err = send("id: %d\ndata: %s\n\n", ev.Sequence, data)
		}
		if err != nil {
			return
		}
	}
}

// Unwrap lets http.ResponseController reach the connection under the
// observe middleware's recorder (deadlines of the event stream).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// replayRequest is the body of POST /api/v1/operator/events/replay.
type replayRequest struct {
	Subject  string `json:"subject"`
	TenantID string `json:"tenantId"`
	Since    string `json:"since"`
	FromSeq  uint64 `json:"fromSeq"`
	ToSeq    uint64 `json:"toSeq"`
	Until    string `json:"until"`
	Limit    int    `json:"limit"`
	Target   string `json:"target"`
}

// opReplay answers POST /api/v1/operator/events/replay: it republishes the
// selected events to inthub.replay.<name>.<original subject>, at most
// ops.MaxLimit per call (page with nextSeq).
func (s *server) opReplay(w http.ResponseWriter, r *http.Request) {
	var in replayRequest
	if err := decodeBody(w, r, s.cfg.BodyLimit, &in); err != nil {
		writeError(w, err)
		return
	}
	switch {
	case in.Target == "":
		writeError(w, apierr.BadRequest(apierr.MissingRequiredField, "target is required: inthub.replay.<name>").With("field", "target"))
		return
	case in.Since == "" && in.FromSeq == 0:
		writeError(w, apierr.BadRequest(apierr.MissingRequiredField, "since or fromSeq is required: say where the replay starts").With("field", "since"))
		return
	case in.Limit < 0 || in.Limit > ops.MaxLimit:
		writeError(w, apierr.BadRequest(apierr.InvalidFieldValue, "limit must be from 1 to %d", ops.MaxLimit).With("field", "limit"))
		return
	}
	svc := s.operations()
	req := ops.Replay{Target: in.Target, Query: ops.Query{Subject: in.Subject, TenantID: in.TenantID, FromSeq: in.FromSeq, ToSeq: in.ToSeq, Limit: in.Limit}}
	var err error
	if req.Since, err = svc.ParseTime("since", in.Since); err == nil {
		req.Until, err = svc.ParseTime("until", in.Until)
	}
	if err != nil {
		writeError(w, s.opsError(r.Context(), err, true))
		return
	}
	res, err := svc.Replay(r.Context(), req)
	if res.Count > 0 || err == nil {
		s.logger.InfoContext(r.Context(), "operator replayed events", "operator", principalOf(r.Context()).Name,
			"subject", in.Subject, "tenant_id", in.TenantID, "target", in.Target, "count", res.Count, "duplicates", res.Duplicates)
	}
	if err != nil {
		writeError(w, s.opsError(r.Context(), err, true))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// opDeadLetters answers GET /api/v1/operator/dlq: one page of dead letters.
func (s *server) opDeadLetters(w http.ResponseWriter, r *http.Request) {
	q, err := queryParams(r, "subject", "tenantId", "after", "limit")
	if err != nil {
		writeError(w, err)
		return
	}
	query := ops.DLQQuery{Subject: q.Get("subject"), TenantID: q.Get("tenantId")}
	if v := q.Get("after"); v != "" {
		if query.After, err = strconv.ParseUint(v, 10, 64); err != nil {
			writeError(w, apierr.BadRequest(apierr.InvalidQuery, "after must be a stream sequence: a whole number from 0").With("parameter", "after"))
			return
		}
	}
	if query.Limit, err = limitValue(q.Get("limit"), ops.MaxLimit); err != nil {
		writeError(w, err)
		return
	}
	page, err := s.operations().DeadLetters(r.Context(), query)
	if err != nil {
		writeError(w, s.opsError(r.Context(), err, false))
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// dlqSeq reads the {seq} of a dead-letter path.
func dlqSeq(r *http.Request) (uint64, error) {
	n, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || n == 0 {
		return 0, apierr.BadRequest(apierr.InvalidQuery, "the dead letter's sequence must be a whole number from 1, not %q", truncate(r.PathValue("seq"), 32)).With("parameter", "seq")
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// opDeadLetter answers GET /api/v1/operator/dlq/{seq}: one dead letter with
// its headers and body.
func (s *server) opDeadLetter(w http.ResponseWriter, r *http.Request) {
	seq, err := dlqSeq(r)
	if err == nil {
		_, err = queryParams(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	d, err := s.operations().DeadLetter(r.Context(), seq)
	if err != nil {
		writeError(w, s.opsError(r.Context(), err, false))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// opRedrive answers POST /api/v1/operator/dlq/{seq}/redrive.
func (s *server) opRedrive(w http.ResponseWriter, r *http.Request) {
	seq, err := dlqSeq(r)
	if err == nil {
		_, err = queryParams(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := s.operations().Redrive(r.Context(), seq)
	if err != nil {
		writeError(w, s.opsError(r.Context(), err, false))
		return
	}
	s.logger.InfoContext(r.Context(), "operator redrove a dead letter", "operator", principalOf(r.Context()).Name,
		"dlq_seq", seq, "subject", out.Subject, "stream", out.Stream, "stream_seq", out.StreamSequence)
	writeJSON(w, http.StatusOK, out)
}

// opDeleteDeadLetter answers DELETE /api/v1/operator/dlq/{seq}.
func (s *server) opDeleteDeadLetter(w http.ResponseWriter, r *http.Request) {
	seq, err := dlqSeq(r)
	if err == nil {
		_, err = queryParams(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.operations().DeleteDeadLetter(r.Context(), seq); err != nil {
		writeError(w, s.opsError(r.Context(), err, false))
		return
	}
	s.logger.InfoContext(r.Context(), "operator deleted a dead letter", "operator", principalOf(r.Context()).Name, "dlq_seq", seq)
	w.WriteHeader(http.StatusNoContent)
}

// opPurge answers POST /api/v1/operator/dlq/purge: the dead letters of a
// subject filter and/or tenant, or every one with {"all": true}. The filter
// is in the JSON body; an empty body purges nothing.
func (s *server) opPurge(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		writeError(w, apierr.BadRequest(apierr.InvalidQuery,
			`purge takes its filter in the JSON body ({"subject": ..., "tenantId": ...} or {"all": true}), not in the query`).With("parameter", "query"))
		return
	}
	var in ops.PurgeQuery
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		if err := decodeBody(w, r, s.cfg.BodyLimit, &in); err != nil {
			writeError(w, err)
			return
		}
	}
	n, err := s.operations().Purge(r.Context(), in)
	if err != nil {
		writeError(w, s.opsError(r.Context(), err, true))
		return
	}
	out := ops.PurgeResult{Purged: n, Matching: n}
	if in.DryRun {
		out.Purged = 0
		writeJSON(w, http.StatusOK, out)
		return
	}
	s.logger.InfoContext(r.Context(), "operator purged dead letters", "operator", principalOf(r.Context()).Name,
		"subject", in.Subject, "filter_tenant_id", in.TenantID, "all", in.All, "purged", n)
	writeJSON(w, http.StatusOK, out)
}
