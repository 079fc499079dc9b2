package ingress

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/stella-ops/inthub/schemas"
	"github.com/stella-ops/inthub/services/ingress/console"
	"github.com/stella-ops/inthub/services/ingress/internal/strictjson"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus/ops"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// routes builds the API's handler. Paths are matched without a method so a
// wrong method gets the API's JSON 405 rather than the mux's plain text.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/readyz", s.readyz)
	mux.HandleFunc("/api/v1/openapi.json", s.openapi)
	mux.Handle("/api/v1/whoami", s.authed(methods{http.MethodGet: s.whoami}))
	mux.Handle("/api/v1/audit", s.authed(methods{http.MethodGet: s.auditLog}))
	mux.Handle("/api/v1/integrations/providers", s.authed(methods{http.MethodGet: s.providers}))
	mux.Handle("/api/v1/integrations", s.authed(methods{http.MethodGet: s.list, http.MethodPost: s.create}))
	mux.Handle("/api/v1/integrations/{id}", s.authed(methods{
		http.MethodGet: s.get, http.MethodPut: s.replace, http.MethodPatch: s.patch, http.MethodDelete: s.delete,
	}))
	mux.Handle("/api/v1/integrations/{id}/test", s.authed(methods{http.MethodPost: s.test}))
	mux.Handle("/api/v1/integrations/{id}/discover", s.authed(newDiscoverEndpoint(s)))
	mux.Handle("/api/v1/integrations/{id}/query", s.authed(newQueryEndpoint(s)))
	// Pipeline runs (runs.go), kept by the pipeline-runner.
	runs := newRuns(s)
	mux.Handle("/api/v1/integrations/{id}/runs", s.authed(runs.collection()))
	mux.Handle("/api/v1/integrations/{id}/runs/{runId}", s.authed(methods{http.MethodGet: runs.get}))
	mux.Handle("/api/v1/integrations/{id}/runs/{runId}/cancel", s.authed(methods{http.MethodPost: runs.cancel}))
	// Providers' webhooks: no bearer token, the runner checks the signature.
	mux.Handle("/api/v1/hooks/{integrationId}", methods{http.MethodPost: runs.hook})
	// Operator endpoints (operator.go): cross-tenant, operator role only.
	op := func(m methods) http.Handler { return s.authed(s.operatorOnly(m)) }
	mux.Handle("/api/v1/operator/events", op(methods{http.MethodGet: s.opEvents}))
	mux.Handle("/api/v1/operator/events/stream", op(methods{http.MethodGet: s.opEventStream}))
	mux.Handle("/api/v1/operator/events/replay", op(methods{http.MethodPost: s.opReplay}))
	mux.Handle("/api/v1/operator/dlq", op(methods{http.MethodGet: s.opDeadLetters}))
	mux.Handle("/api/v1/operator/dlq/purge", op(methods{http.MethodPost: s.opPurge}))
	mux.Handle("/api/v1/operator/dlq/{seq}", op(methods{http.MethodGet: s.opDeadLetter, http.MethodDelete: s.opDeleteDeadLetter}))
	mux.Handle("/api/v1/operator/dlq/{seq}/redrive", op(methods{http.MethodPost: s.opRedrive}))
	// Notification rules (notification_rules.go), kept by the notifier.
	rules := newNotificationRules(s)
	mux.Handle("/api/v1/notification-rules", s.authed(rules.collection()))
	mux.Handle("/api/v1/notification-rules/{id}", s.authed(rules.item()))
	mux.Handle("/api/v1/notification-rules/preview", s.authed(methods{http.MethodPost: rules.preview}))
	mux.Handle("/api/v1/notification-rules/{id}/deliveries", s.authed(methods{http.MethodGet: rules.deliveries}))
	// Canary analysis runs (analysis_runs.go), kept by the metrics-analyzer.
	analysis := newAnalysisRuns(s)
	mux.Handle("/api/v1/analysis-runs", s.authed(methods{http.MethodPost: analysis.create}))
	mux.Handle("/api/v1/analysis-runs/{id}", s.authed(methods{http.MethodGet: analysis.get}))
	mux.Handle("/api/v1/analysis-runs/{id}/cancel", s.authed(methods{http.MethodPost: analysis.cancel}))
	for path, h := range s.extra {
		mux.Handle(path, s.authed(h))
	}
	// The console (console/) is pages over this same route table: it calls
	// the API handlers in-process with the session's token.
	cons, err := console.New(console.Config{API: mux, HealthEvents: s.healthEvents, Logger: s.logger})
	if err != nil {
		// The templates are embedded and parsed by the tests: this is a
		// broken build, not a runtime condition.
		panic(fmt.Sprintf("ingress: console: %v", err))
	}
	mux.Handle(console.Prefix, cons)
	mux.Handle(console.Prefix+"/", cons)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apierr.New(http.StatusNotFound, apierr.RouteNotFound, "no such endpoint: %s", r.URL.Path))
	})
	return s.observe(mux)
}

// methods dispatches on the request method.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := m[r.Method]
	if !ok {
		allow := ""
		for k := range m {
			if allow != "" {
				allow += ", "
			}
			allow += k
		}
		w.Header().Set("Allow", allow)
		writeError(w, apierr.New(http.StatusMethodNotAllowed, apierr.MethodNotAllowed, "%s is not allowed here (allowed: %s)", r.Method, allow))
		return
	}
	h(w, r)
}

// authed requires a valid bearer token and puts its principal in the context.
func (s *server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "Bearer "
		h := r.Header.Get("Authorization")
		if len(h) <= len(prefix) || !equalFold(h[:len(prefix)], prefix) {
			writeError(w, apierr.New(http.StatusUnauthorized, apierr.Unauthorized, "a bearer token is required (Authorization: Bearer <token>)"))
			return
		}
		p, err := s.authenticate(r.Context(), h[len(prefix):])
		if err != nil {
			writeError(w, err)
			return
		}
		withPrincipal(next, w, r, p)
	})
}

// authenticate finds who a bearer token stands for: a static token first
// (a hash lookup), then, when an issuer is configured, a JWT of it.
func (s *server) authenticate(ctx context.Context, token string) (Principal, error) {
	tokens := s.tokens
	if s.watcher != nil {
		tokens = s.watcher.Tokens()
	}
	if p, ok := tokens.Lookup(token); ok {
		return p, nil
	}
	if s.oidc != nil && looksLikeJWT(token) {
		return s.oidc.Verify(ctx, token)
	}
	return Principal{}, apierr.New(http.StatusUnauthorized, apierr.Unauthorized, "the bearer token is not valid")
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is ready when the bus is connected and the catalog answers.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*s.cfg.readyTimeout())
	defer cancel()
	if !s.nc.IsConnected() {
		writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "not connected to NATS"))
		return
	}
	if _, err := s.catalog.Providers(ctx, catalog.ProvidersRequest{}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(schemas.OpenAPI())
}

func (s *server) providers(w http.ResponseWriter, r *http.Request) {
	include, err := boolParam(r, "includeTestOnly")
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := s.catalog.Providers(r.Context(), catalog.ProvidersRequest{IncludeTestOnly: include})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func boolParam(r *http.Request, name string) (bool, error) {
	if r.URL.RawQuery == "" {
		return false, nil // the usual case: no query to parse (into a map)
	}
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apierr.BadRequest(apierr.InvalidQuery, "%s must be true or false", name)
	}
	return b, nil
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := contracts.ListQuery{
		TypeID: q.Get("typeId"), Category: q.Get("category"), LabelSelector: q.Get("labelSelector"),
		HealthStatus: contracts.HealthStatus(q.Get("healthStatus")), Cursor: q.Get("cursor"),
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, apierr.BadRequest(apierr.InvalidQuery, "limit must be a whole number from 1 to 500"))
			return
		}
		query.Limit = n
	}
	out, err := s.catalog.List(r.Context(), catalog.ListRequest{TenantID: principalOf(r.Context()).TenantID, Query: query})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) create(w http.ResponseWriter, r *http.Request) {
	var in contracts.IntegrationInput
	if err := decodeBody(w, r, s.cfg.BodyLimit, &in); err != nil {
		writeError(w, err)
		return
	}
	// Idempotency-Key makes the create safe to retry: the manager answers
	// a retry with the first result (and Idempotent-Replayed: true).
	it, err := s.catalog.Create(r.Context(), catalog.CreateRequest{
		TenantID: principalOf(r.Context()).TenantID, Input: in, IdempotencyKey: r.Header.Get(headerIdempotencyKey),
		Actor: actorOf(principalOf(r.Context())),
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("ETag", etag(it.Revision))
	w.Header().Set("Location", "/api/v1/integrations/"+it.ID)
	if it.Replayed {
		w.Header().Set(catalog.HeaderReplayed, "true")
	}
	writeJSON(w, http.StatusCreated, it.Integration)
}

// headerIdempotencyKey is the request header of a retry-safe create.
const headerIdempotencyKey = "Idempotency-Key"

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	if a, ok := s.reads.answer(r.Context(), principalOf(r.Context()).TenantID, r.PathValue("id")); ok {
		a.write(w)
		return
	}
	it, err := s.catalog.Get(r.Context(), catalog.GetRequest{TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id")})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("ETag", etag(it.Revision))
	writeJSON(w, http.StatusOK, it)
}

func (s *server) replace(w http.ResponseWriter, r *http.Request) {
	rev, err := ifMatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var in contracts.IntegrationInput
	if err := decodeBody(w, r, s.cfg.BodyLimit, &in); err != nil {
		writeError(w, err)
		return
	}
	it, err := s.catalog.Replace(r.Context(), catalog.ReplaceRequest{
		TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id"), IfMatch: rev, Input: in, Actor: actorOf(principalOf(r.Context())),
	})
	if err != nil {
		writeError(w, err)
		return
	}
	s.reads.wrote(it.TenantID, it.ID, it.Revision)
	w.Header().Set("ETag", etag(it.Revision))
	writeJSON(w, http.StatusOK, it)
}

// patchBody is what PATCH accepts: the mutable fields, each optional, null
// deleting (RFC 7386). Decoding into it first refuses unknown fields early.
type patchBody struct {
	TypeID        *string            `json:"typeId"`
	Name          *string            `json:"name"`
	Description   *string            `json:"description"`
	Config        map[string]any     `json:"config"`
	CredentialRef *string            `json:"credentialRef"`
	Labels        map[string]*string `json:"labels"`
}

func (s *server) patch(w http.ResponseWriter, r *http.Request) {
	rev, err := ifMatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var raw []byte
	var shape patchBody
	if err := decodeBody(w, r, s.cfg.BodyLimit, &rawCapture{dst: &shape, raw: &raw}, "application/merge-patch+json", "application/json"); err != nil {
		writeError(w, err)
		return
	}
	it, err := s.catalog.Patch(r.Context(), catalog.PatchRequest{
		TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id"), IfMatch: rev, Patch: raw, Actor: actorOf(principalOf(r.Context())),
	})
	if err != nil {
		writeError(w, err)
		return
	}
	s.reads.wrote(it.TenantID, it.ID, it.Revision)
	w.Header().Set("ETag", etag(it.Revision))
	writeJSON(w, http.StatusOK, it)
}

// rawCapture decodes into dst (for validation) and keeps the raw bytes.
type rawCapture struct {
	dst any
	raw *[]byte
}

func (c *rawCapture) UnmarshalJSON(b []byte) error {
	*c.raw = append([]byte(nil), b...)
	return strictjson.Decode(b, c.dst)
}

func (s *server) delete(w http.ResponseWriter, r *http.Request) {
	rev, err := ifMatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant, id := principalOf(r.Context()).TenantID, r.PathValue("id")
	last, err := s.catalog.Delete(r.Context(), catalog.DeleteRequest{
		TenantID: tenant, ID: id, IfMatch: rev, Actor: actorOf(principalOf(r.Context())),
	})
	if err != nil {
		writeError(w, err)
		return
	}
	// The delete's own revision is above the last version's.
	s.reads.wrote(tenant, id, last.Revision+1)
	w.WriteHeader(http.StatusNoContent)
}

// healthEvents is the console's health timeline: the latest
// integration.health.changed events of one integration, newest first,
// read from the event stream within one tenant's subjects.
func (s *server) healthEvents(ctx context.Context, tenantID, integrationID string, limit int) ([]contracts.HealthChanged, error) {
	page, err := s.operations().Events(ctx, ops.Query{
		Subject: contracts.Subject(contracts.SubjectHealthChanged, tenantID, integrationID), TenantID: tenantID,
		Since: time.Now().Add(-healthTimelineWindow), Limit: ops.MaxLimit,
	})
	if err != nil {
		return nil, fmt.Errorf("health events of %s: %w", integrationID, err)
	}
	out := make([]contracts.HealthChanged, 0, min(limit, len(page.Items)))
	for _, ev := range slices.Backward(page.Items) {
		var hc contracts.HealthChanged
		if json.Unmarshal(ev.Data, &hc) != nil || hc.TenantID != tenantID || hc.IntegrationID != integrationID {
			continue
		}
		if out = append(out, hc); len(out) == limit {
			break
		}
	}
	return out, nil
}

// healthTimelineWindow is how far back the console's health timeline reads.
const healthTimelineWindow = 30 * 24 * time.Hour
