package ingress

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestPrincipalIsTheRequests: the principal a handler behind authed reads
// is its own request's token's, whether authed kept it in observe's
// request state or (a request made in-process under another, as the
// console makes them) in a context of its own; a handler outside authed
// reads none, and the access-log line names the last caller authenticated.
func TestPrincipalIsTheRequests(t *testing.T) {
	t.Parallel()
	const (
		tenantA, secretA = "0193a0b4-0000-7000-8000-00000000000a", "principal-token-a"
		tenantB, secretB = "0193a0b4-0000-7000-8000-00000000000b", "principal-token-b"
	)
	tokens, err := NewTokens([]TokenEntry{
		{Principal: Principal{Name: "a", TenantID: tenantA}, SHA256: HashToken(secretA)},
		{Principal: Principal{Name: "b", TenantID: tenantB}, SHA256: HashToken(secretB)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		path  string
		auth  string
		inner string // the token of an in-process request the handler makes, if any
		// want are the tenants seen, in order: the outer handler's before
		// its inner request, the inner handler's, the outer's after it.
		want    []string
		logged  string // the access line's tenant_id ("" none)
		status  int
		nothing bool // the outer handler must not run (refused)
	}{
		{name: "authed", path: "/authed", auth: secretA, want: []string{tenantA}, logged: tenantA, status: http.StatusOK},
		{name: "open route", path: "/open", want: []string{""}, status: http.StatusOK},
		{name: "open route with a token", path: "/open", auth: secretA, want: []string{""}, status: http.StatusOK},
		{name: "refused", path: "/authed", auth: "nope", logged: "", status: http.StatusUnauthorized, nothing: true},
		{name: "in-process call under an authed request", path: "/authed", auth: secretA, inner: secretB,
			want: []string{tenantA, tenantB, tenantA}, logged: tenantB, status: http.StatusOK},
		{name: "in-process call under an open request", path: "/open", inner: secretB,
			want: []string{"", tenantB, ""}, logged: tenantB, status: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			s := &server{logger: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: newHTTPMetrics(nil), tokens: tokens}
			var seen []string
			mux := http.NewServeMux()
			mux.Handle("/inner", s.authed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = append(seen, principalOf(r.Context()).TenantID)
			})))
			outer := func(w http.ResponseWriter, r *http.Request) {
				seen = append(seen, principalOf(r.Context()).TenantID)
				if tc.inner == "" {
					return
				}
				in := httptest.NewRequestWithContext(r.Context(), http.MethodGet, "/inner", nil)
				in.Header.Set("Authorization", "Bearer "+tc.inner)
				mux.ServeHTTP(httptest.NewRecorder(), in)
				seen = append(seen, principalOf(r.Context()).TenantID)
			}
			mux.Handle("/authed", s.authed(http.HandlerFunc(outer)))
			mux.HandleFunc("/open", outer)
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", "Bearer "+tc.auth)
			}
			rec := httptest.NewRecorder()
			s.observe(mux).ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.nothing {
				tc.want = nil
			}
			if strings.Join(seen, ",") != strings.Join(tc.want, ",") {
				t.Errorf("tenants seen %q, want %q", seen, tc.want)
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line); err != nil {
				t.Fatalf("one JSON log line expected: %q: %v", logs.String(), err)
			}
			if got, _ := line["tenant_id"].(string); got != tc.logged {
				t.Errorf("access line's tenant_id %q, want %q", got, tc.logged)
			}
		})
	}
}

// TestRequestSpan: a recording span ends with the request's method and
// path as its name, its attributes and status, under the caller's trace; a
// span the sampler drops still continues the trace and answers as usual.
func TestRequestSpan(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name        string
		traceparent string
		status      int
		recorded    bool
	}{
		{"sampled parent", "00-" + traceID + "-00f067aa0ba902b7-01", http.StatusTeapot, true},
		{"no parent", "", http.StatusOK, true},
		{"parent not sampled", "00-" + traceID + "-00f067aa0ba902b7-00", http.StatusOK, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spans := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
			s := &server{logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), metrics: newHTTPMetrics(nil), tracer: tp.Tracer("test")}
			var handlerTrace string
			h := s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				handlerTrace = trace.SpanContextFromContext(r.Context()).TraceID().String()
				w.WriteHeader(tc.status)
			}))
			req := httptest.NewRequest(http.MethodGet, "/api/v1/integrations/some-id", nil)
			if tc.traceparent != "" {
				req.Header.Set("traceparent", tc.traceparent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.traceparent != "" && handlerTrace != traceID {
				t.Errorf("the handler's trace %s, want the caller's %s", handlerTrace, traceID)
			}
			ended := spans.Ended()
			if !tc.recorded {
				if len(ended) != 0 {
					t.Fatalf("%d spans recorded, want none", len(ended))
				}
				return
			}
			if len(ended) != 1 {
				t.Fatalf("%d spans recorded, want 1", len(ended))
			}
			sp := ended[0]
			if sp.Name() != "GET /api/v1/integrations/some-id" {
				t.Errorf("span name %q", sp.Name())
			}
			if sp.SpanContext().TraceID().String() != handlerTrace {
				t.Errorf("span trace %s, handler's %s", sp.SpanContext().TraceID(), handlerTrace)
			}
			want := map[attribute.Key]attribute.Value{
				"http.request.method":       attribute.StringValue("GET"),
				"url.path":                  attribute.StringValue("/api/v1/integrations/some-id"),
				"http.response.status_code": attribute.IntValue(tc.status),
			}
			got := map[attribute.Key]attribute.Value{}
			for _, kv := range sp.Attributes() {
				got[kv.Key] = kv.Value
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("attribute %s = %v, want %v", k, got[k].String(), v.String())
				}
			}
		})
	}
}
