package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/natstest"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	tenantB = "0193a0b4-0000-7000-8000-00000000000b"
	tokenB  = "token-of-tenant-b-0123456789abcdef"
)

// stack is a running devstack and a client for it.
type stack struct {
	t    *testing.T
	base string
	info devstack.Info
	js   jetstream.JetStream
	// secrets is the base folder of the tenants' file:// secrets (see
	// localSecrets): the dev tenant's are in secrets/dev, B's in secrets/b.
	secrets string
}

// localSecrets is the test stacks' local-secret policy, set as an operator
// would: the dev tenant has the name DEV (as in make run: INTHUB_SECRET_DEV_*
// and <dir>/dev/), tenant B the name B. env:// values come from env, never
// from the process's environment. It returns the resolver and <dir>.
func localSecrets(t *testing.T, env map[string]string) (credentials.LocalResolver, string) {
	t.Helper()
	dir := t.TempDir()
	p, err := credentials.ParseLocalPolicy(devstack.DevLocalSecrets+","+tenantB+"=B", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	return credentials.LocalResolver{Policy: p, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}, dir
}

func startStack(t *testing.T) *stack {
	t.Helper()
	local, secrets := localSecrets(t, nil)
	info := runStack(t, devstack.Config{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), Local: &local,
		ExtraTokens: []ingress.TokenEntry{{Principal: ingress.Principal{Name: "b", TenantID: tenantB}, SHA256: ingress.HashToken(tokenB)}},
	})
	nc := natsConn(t, info)
	js, _ := jetstream.New(nc)
	return &stack{t: t, base: "http://" + info.HTTPAddr, info: info, js: js, secrets: secrets}
}

// response is a decoded API answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(v any) {
	if err := json.Unmarshal(r.body, v); err != nil {
		panic(fmt.Sprintf("decode %s: %v", r.body, err))
	}
}

func (r response) code() string {
	var e contracts.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	return e.Code
}

// call sends a request; body may be a string (sent as is) or a value (JSON).
func (s *stack) call(method, path, token string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// eventCount is the number of lifecycle events (created, updated, deleted)
// in INTHUB_EVENTS; health events come and go on their own schedule.
func (s *stack) eventCount() uint64 {
	st, err := s.js.Stream(context.Background(), bus.StreamEvents)
	if err != nil {
		s.t.Fatal(err)
	}
	info, err := st.Info(context.Background(), jetstream.WithSubjectFilter("integration.*.>"))
	if err != nil {
		s.t.Fatal(err)
	}
	var n uint64
	for subject, count := range info.State.Subjects {
		for _, p := range []string{contracts.SubjectCreated, contracts.SubjectUpdated, contracts.SubjectDeleted} {
			if strings.HasPrefix(subject, p+".") {
				n += count
			}
		}
	}
	return n
}

func webhook(name string) map[string]any {
	return map[string]any{
		"typeId": "webhook", "name": name,
		"config":        map[string]any{"url": "https://hooks.example.com/inthub", "signingSecretRef": "env://INTHUB_SECRET_DEV_HOOK"},
		"credentialRef": "env://INTHUB_SECRET_DEV_HOOK_TOKEN",
		"labels":        map[string]string{"environment": "production"},
	}
}

func TestCRUDOverHTTPWithETags(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token

	r := s.call("POST", "/api/v1/integrations", tok, webhook("Prod hooks"))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var it contracts.Integration
	r.decode(&it)
	if r.header.Get("ETag") != fmt.Sprintf(`"%d"`, it.Revision) || r.header.Get("Location") != "/api/v1/integrations/"+it.ID {
		t.Fatalf("create headers %v", r.header)
	}
	if it.HealthStatus != "unknown" || it.TenantID != devstack.DevTenantID || it.Labels["environment"] != "production" {
		t.Fatalf("created %+v", it)
	}
	etag := r.header.Get("ETag")

	r = s.call("GET", "/api/v1/integrations", tok, nil)
	var list contracts.IntegrationList
	r.decode(&list)
	if r.status != 200 || len(list.Items) != 1 || list.Items[0].ID != it.ID {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	r = s.call("GET", "/api/v1/integrations/"+it.ID, tok, nil)
	if r.status != 200 || r.header.Get("ETag") != etag {
		t.Fatalf("get: %d %v", r.status, r.header)
	}

	updated := webhook("Prod hooks v2")
	r = s.call("PUT", "/api/v1/integrations/"+it.ID, tok, updated, "If-Match", etag)
	if r.status != 200 || r.header.Get("ETag") == etag {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	etag2 := r.header.Get("ETag")
	r = s.call("PUT", "/api/v1/integrations/"+it.ID, tok, webhook("stale"), "If-Match", etag)
	if r.status != http.StatusPreconditionFailed || r.code() != "PRECONDITION_FAILED" {
		t.Fatalf("stale put: %d %s", r.status, r.body)
	}
	r = s.call("PATCH", "/api/v1/integrations/"+it.ID, tok, `{"labels":{"team":"release"},"description":"patched"}`, "If-Match", etag2, "Content-Type", "application/merge-patch+json")
	var patched contracts.Integration
	r.decode(&patched)
	if r.status != 200 || patched.Labels["team"] != "release" || patched.Labels["environment"] != "production" || patched.Name != "Prod hooks v2" {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	r = s.call("DELETE", "/api/v1/integrations/"+it.ID, tok, nil, "If-Match", etag2)
	if r.status != http.StatusPreconditionFailed {
		t.Fatalf("delete with stale etag: %d", r.status)
	}
	r = s.call("DELETE", "/api/v1/integrations/"+it.ID, tok, nil, "If-Match", r2etag(s, it.ID))
	if r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r = s.call("GET", "/api/v1/integrations/"+it.ID, tok, nil); r.status != 404 || r.code() != "INTEGRATION_NOT_FOUND" {
		t.Fatalf("get after delete: %d %s", r.status, r.body)
	}
	if n := s.eventCount(); n != 4 {
		t.Fatalf("%d lifecycle events, want 4 (create, put, patch, delete)", n)
	}
}

func r2etag(s *stack, id string) string {
	return s.call("GET", "/api/v1/integrations/"+id, s.info.Token, nil).header.Get("ETag")
}

func TestAnotherTenantCannotSeeOrTouch(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	r := s.call("POST", "/api/v1/integrations", s.info.Token, webhook("A's hooks"))
	var it contracts.Integration
	r.decode(&it)
	before := s.eventCount()
	tests := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"list", "GET", "/api/v1/integrations", nil, 200},
		{"read", "GET", "/api/v1/integrations/" + it.ID, nil, 404},
		{"replace", "PUT", "/api/v1/integrations/" + it.ID, webhook("B was here"), 404},
		{"patch", "PATCH", "/api/v1/integrations/" + it.ID, `{"name":"B was here"}`, 404},
		{"delete", "DELETE", "/api/v1/integrations/" + it.ID, nil, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call(tc.method, tc.path, tokenB, tc.body)
			if r.status != tc.want {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
			if tc.method == "GET" && tc.want == 200 {
				var l contracts.IntegrationList
				r.decode(&l)
				if len(l.Items) != 0 {
					t.Fatalf("tenant B lists %d of A's integrations", len(l.Items))
				}
			}
		})
	}
	r = s.call("GET", "/api/v1/integrations/"+it.ID, s.info.Token, nil)
	var after contracts.Integration
	r.decode(&after)
	if r.status != 200 || after.Name != "A's hooks" || after.Revision != it.Revision || s.eventCount() != before {
		t.Fatalf("A's integration changed by B: %d %+v", r.status, after)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	for name, header := range map[string]string{"missing": "", "wrong": "Bearer nope", "not bearer": "Basic dXNlcjpwYXNz", "empty bearer": "Bearer "} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.base+"/api/v1/integrations", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e contracts.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != 401 || e.Code != "UNAUTHORIZED" || e.Message == "" || resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%d %+v", resp.StatusCode, e)
			}
		})
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	r := s.call("POST", "/api/v1/integrations", tok, webhook("existing"))
	var existing contracts.Integration
	r.decode(&existing)
	etag := r.header.Get("ETag")
	// Move it on once so the first ETag is stale.
	if r = s.call("PATCH", "/api/v1/integrations/"+existing.ID, tok, `{"description":"v2"}`); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	var current contracts.Integration
	r.decode(&current)

	with := func(mut func(m map[string]any)) map[string]any {
		m := webhook("new")
		mut(m)
		return m
	}
	cfg := func(m map[string]any) map[string]any { return m["config"].(map[string]any) }
	huge := `{"typeId":"webhook","name":"x","description":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name    string
		method  string
		path    string
		body    any
		headers []string
		status  int
		code    string
	}{
		{"malformed JSON", "POST", "/api/v1/integrations", `{"typeId": "webhook",`, nil, 400, "MALFORMED_JSON"},
		{"not an object", "POST", "/api/v1/integrations", `[1,2]`, nil, 400, "MALFORMED_JSON"},
		{"trailing data", "POST", "/api/v1/integrations", `{"typeId":"webhook"} {}`, nil, 400, "MALFORMED_JSON"},
		{"unknown provider", "POST", "/api/v1/integrations", with(func(m map[string]any) { m["typeId"] = "ftp" }), nil, 400, "UNKNOWN_PROVIDER"},
		{"unknown config field", "POST", "/api/v1/integrations", with(func(m map[string]any) { cfg(m)["colour"] = "blue" }), nil, 400, "UNKNOWN_CONFIG_FIELD"},
		{"missing required field", "POST", "/api/v1/integrations", with(func(m map[string]any) { delete(cfg(m), "url") }), nil, 400, "MISSING_REQUIRED_FIELD"},
		{"missing name", "POST", "/api/v1/integrations", with(func(m map[string]any) { delete(m, "name") }), nil, 400, "MISSING_REQUIRED_FIELD"},
		{"wrong config type", "POST", "/api/v1/integrations", with(func(m map[string]any) { cfg(m)["timeout"] = "soon" }), nil, 400, "INVALID_FIELD_TYPE"},
		{"wrong field type", "POST", "/api/v1/integrations", with(func(m map[string]any) { m["name"] = 42 }), nil, 400, "INVALID_FIELD_TYPE"},
		{"bad URL", "POST", "/api/v1/integrations", with(func(m map[string]any) { cfg(m)["url"] = "ftp://x" }), nil, 400, "INVALID_URL"},
		{"URL with user info", "POST", "/api/v1/integrations", with(func(m map[string]any) { cfg(m)["url"] = "https://u:p@x.example.com" }), nil, 400, "INVALID_URL"},
		{"literal secret", "POST", "/api/v1/integrations", with(func(m map[string]any) { cfg(m)["signingSecretRef"] = "s3cr3t-value" }), nil, 400, "LITERAL_SECRET"},
		{"invalid credential reference", "POST", "/api/v1/integrations", with(func(m map[string]any) { m["credentialRef"] = "hunter2" }), nil, 400, "INVALID_CREDENTIAL_REF"},
		{"unknown top-level field", "POST", "/api/v1/integrations", with(func(m map[string]any) { m["owner"] = "me" }), nil, 400, "UNKNOWN_FIELD"},
		{"server-owned field", "POST", "/api/v1/integrations", with(func(m map[string]any) { m["tenantId"] = tenantB }), nil, 400, "UNKNOWN_FIELD"},
		{"bad label", "POST", "/api/v1/integrations", with(func(m map[string]any) { m["labels"] = map[string]string{"bad key!": "x"} }), nil, 400, "INVALID_LABEL"},
		{"oversize body", "POST", "/api/v1/integrations", huge, nil, 413, "PAYLOAD_TOO_LARGE"},
		{"wrong media type", "POST", "/api/v1/integrations", webhook("x"), []string{"Content-Type", "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"charset other than UTF-8", "POST", "/api/v1/integrations", webhook("x"), []string{"Content-Type", "application/json; charset=utf-16"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"name not UTF-8", "POST", "/api/v1/integrations", []byte("{\"typeId\":\"webhook\",\"name\":\"prod\xff\",\"config\":{\"url\":\"https://hooks.example.com/x\"}}"), nil, 400, "MALFORMED_JSON"},
		{"name with an unpaired surrogate", "POST", "/api/v1/integrations", `{"typeId":"webhook","name":"prod\udc00","config":{"url":"https://hooks.example.com/x"}}`, nil, 400, "MALFORMED_JSON"},
		{"name with a bidi override", "POST", "/api/v1/integrations", webhook("invoice\u202egpj.exe"), nil, 400, "INVALID_FIELD_VALUE"},
		{"rename with a bidi isolate", "PATCH", "/api/v1/integrations/" + existing.ID, `{"name":"a\u2066b"}`, nil, 400, "INVALID_FIELD_VALUE"},
		{"stale If-Match on PUT", "PUT", "/api/v1/integrations/" + existing.ID, webhook("stale"), []string{"If-Match", etag}, 412, "PRECONDITION_FAILED"},
		{"stale If-Match on PATCH", "PATCH", "/api/v1/integrations/" + existing.ID, `{"name":"stale"}`, []string{"If-Match", etag}, 412, "PRECONDITION_FAILED"},
		{"garbage If-Match", "PATCH", "/api/v1/integrations/" + existing.ID, `{"name":"stale"}`, []string{"If-Match", "yesterday"}, 412, "PRECONDITION_FAILED"},
		{"provider change on PUT", "PUT", "/api/v1/integrations/" + existing.ID, map[string]any{"typeId": "inmemory", "name": "x", "config": map[string]any{}}, nil, 400, "IMMUTABLE_FIELD"},
		{"literal secret in PATCH", "PATCH", "/api/v1/integrations/" + existing.ID, `{"config":{"signingSecretRef":"plain"}}`, nil, 400, "LITERAL_SECRET"},
		{"unknown field in PATCH", "PATCH", "/api/v1/integrations/" + existing.ID, `{"colour":"blue"}`, nil, 400, "UNKNOWN_FIELD"},
		{"slack channel type misspelt", "POST", "/api/v1/integrations", map[string]any{"typeId": "slack", "name": "chat",
			"config": map[string]any{"channelTypes": []string{"public_chanel"}}, "credentialRef": "env://INTHUB_SECRET_DEV_SLACK"}, nil, 400, "INVALID_FIELD_VALUE"},
		{"registry repository not lowercase", "POST", "/api/v1/integrations", map[string]any{"typeId": "docker-registry", "name": "images",
			"config": map[string]any{"url": "https://registry.example.com", "repository": "MyOrg/App"}}, nil, 400, "INVALID_FIELD_VALUE"},
		{"bad limit", "GET", "/api/v1/integrations?limit=zero", nil, nil, 400, "INVALID_QUERY"},
		{"bad cursor", "GET", "/api/v1/integrations?cursor=xyz", nil, nil, 400, "INVALID_CURSOR"},
		{"bad selector", "GET", "/api/v1/integrations?labelSelector=a%20b", nil, nil, 400, "INVALID_LABEL_SELECTOR"},
		{"not an id", "GET", "/api/v1/integrations/..%2F..", nil, nil, 404, "INTEGRATION_NOT_FOUND"},
		{"wrong method", "POST", "/api/v1/integrations/" + existing.ID, webhook("x"), nil, 405, "METHOD_NOT_ALLOWED"},
		{"no such route", "GET", "/api/v2/things", nil, nil, 404, "NOT_FOUND"},
	}
	// The field the answer must name, for the cases a provider's declared
	// config rules refuse.
	fields := map[string]string{"slack channel type misspelt": "channelTypes", "registry repository not lowercase": "repository"}
	before := s.eventCount()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call(tc.method, tc.path, tok, tc.body, tc.headers...)
			var e contracts.ErrorBody
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatalf("error body is not JSON: %d %q", r.status, r.body)
			}
			if r.status != tc.status || e.Code != tc.code || e.Message == "" {
				t.Fatalf("got %d %+v, want %d %s", r.status, e, tc.status, tc.code)
			}
			if f, ok := fields[tc.name]; ok && e.Details["field"] != f {
				t.Fatalf("details name field %v, want %s: %s", e.Details["field"], f, r.body)
			}
			if strings.Contains(string(r.body), "s3cr3t-value") || strings.Contains(string(r.body), "hunter2") {
				t.Fatalf("error echoes a secret: %s", r.body)
			}
		})
	}
	r = s.call("GET", "/api/v1/integrations", tok, nil)
	var list contracts.IntegrationList
	r.decode(&list)
	if len(list.Items) != 1 || list.Items[0].Revision != current.Revision || list.Items[0].Name != "existing" {
		t.Fatalf("store changed: %s", r.body)
	}
	if after := s.eventCount(); after != before {
		t.Fatalf("bad input published %d events", after-before)
	}
}

func TestProvidersHideTestOnlyUnlessAsked(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	var def, all contracts.ProviderList
	s.call("GET", "/api/v1/integrations/providers", s.info.Token, nil).decode(&def)
	s.call("GET", "/api/v1/integrations/providers?includeTestOnly=true", s.info.Token, nil).decode(&all)
	has := func(l contracts.ProviderList, id string) *contracts.ProviderInfo {
		for i := range l.Items {
			if l.Items[i].ID == id {
				return &l.Items[i]
			}
		}
		return nil
	}
	if has(def, "inmemory") != nil || has(all, "inmemory") == nil || has(def, "webhook") == nil {
		t.Fatalf("default %d providers, with test-only %d", len(def.Items), len(all.Items))
	}
	mem := has(all, "inmemory")
	if !mem.IsTestOnly || !mem.SupportsDiscovery || len(mem.SupportedResourceTypes) != 2 || mem.Category != "registry" || len(mem.ConfigFields) == 0 || len(mem.CredentialTypes) == 0 {
		t.Fatalf("inmemory entry %+v", mem)
	}
	if r := s.call("GET", "/api/v1/integrations/providers?includeTestOnly=maybe", s.info.Token, nil); r.status != 400 {
		t.Fatalf("bad boolean: %d", r.status)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/openapi.json"} {
		r := s.call("GET", path, "", nil)
		if r.status != 200 {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	var doc map[string]any
	s.call("GET", "/api/v1/openapi.json", "", nil).decode(&doc)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v", doc["openapi"])
	}
}

// Metrics name every tenant's integrations, so the API port, which anyone
// can reach, does not serve them: they are on a listener of their own.
func TestMetricsAreOnlyOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tests := []struct {
		name  string
		token string
	}{
		{"without a token", ""},
		{"with an operator token", s.info.Token},
	}
	for _, tc := range tests {
		t.Run("API port "+tc.name, func(t *testing.T) {
			if r := s.call("GET", "/metrics", tc.token, nil); r.status != http.StatusNotFound || strings.Contains(string(r.body), "inthub_") {
				t.Fatalf("GET /metrics on the API port: %d %.200s, want 404 without metrics", r.status, r.body)
			}
		})
	}
	t.Run("metrics listener", func(t *testing.T) {
		if s.info.MetricsAddr == "" || s.info.MetricsAddr == s.info.HTTPAddr {
			t.Fatalf("metrics address %q (API %q)", s.info.MetricsAddr, s.info.HTTPAddr)
		}
		// One request through the ingress to the manager, so both count.
		if r := s.call("GET", "/api/v1/integrations/providers", s.info.Token, nil); r.status != http.StatusOK {
			t.Fatalf("providers: %d", r.status)
		}
		body := s.scrape()
		for _, series := range []string{"inthub_ingress_requests_total", "inthub_manager_requests_total"} {
			if !strings.Contains(body, series) {
				t.Errorf("metrics lack %s", series)
			}
		}
	})
}

// scrape returns the text of the stack's metrics listener.
func (s *stack) scrape() string {
	s.t.Helper()
	resp, err := http.Get("http://" + s.info.MetricsAddr + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

func TestOnDemandTestOverHTTP(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	mem := func(cfg map[string]any) string {
		r := s.call("POST", "/api/v1/integrations", tok, map[string]any{"typeId": "inmemory", "name": "mem", "config": cfg})
		var it contracts.Integration
		r.decode(&it)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		return it.ID
	}
	tests := []struct {
		name    string
		config  map[string]any
		success bool
		steps   [3]string
		code    string
	}{
		{"passes", map[string]any{"latencyMs": 20}, true, [3]string{"passed", "passed", "passed"}, ""},
		{"bad credentials", map[string]any{"failureMode": "auth-failed"}, false, [3]string{"passed", "failed", "skipped"}, "AUTHENTICATION_FAILED"},
		{"operations fail", map[string]any{"failureMode": "functionality-failed"}, false, [3]string{"passed", "passed", "failed"}, "UPSTREAM_ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := mem(tc.config)
			r := s.call("POST", "/api/v1/integrations/"+id+"/test", tok, nil)
			if r.status != 200 {
				t.Fatalf("test: %d %s", r.status, r.body)
			}
			var res contracts.TestResponse
			r.decode(&res)
			d := res.Data
			got := [3]string{d.ConnectivityTest.Status, d.AuthenticationTest.Status, d.FunctionalityTest.Status}
			if res.Success != tc.success || got != tc.steps {
				t.Fatalf("got %s", r.body)
			}
			if tc.success && d.ConnectivityTest.LatencyMs < 20 {
				t.Fatalf("latency %dms below the configured 20ms", d.ConnectivityTest.LatencyMs)
			}
			for _, st := range []contracts.TestStep{d.ConnectivityTest, d.AuthenticationTest, d.FunctionalityTest} {
				if st.Status == "failed" && (st.ErrorCode != tc.code || st.Message == "") {
					t.Fatalf("failed step %+v, want %s", st, tc.code)
				}
			}
		})
	}
	if r := s.call("POST", "/api/v1/integrations/"+mem(nil)+"/test", tokenB, nil); r.status != 404 {
		t.Fatalf("another tenant's test: %d", r.status)
	}
}

func TestOnDemandTestTimesOutWith504(t *testing.T) {
	t.Parallel()
	info := runStack(t, devstack.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), TestTimeout: 300 * time.Millisecond})
	s := &stack{t: t, base: "http://" + info.HTTPAddr, info: info}
	r := s.call("POST", "/api/v1/integrations", info.Token, map[string]any{"typeId": "inmemory", "name": "slow", "config": map[string]any{"latencyMs": 3000}})
	var it contracts.Integration
	r.decode(&it)
	r = s.call("POST", "/api/v1/integrations/"+it.ID+"/test", info.Token, nil)
	if r.status != http.StatusGatewayTimeout || r.code() != "TIMEOUT" {
		t.Fatalf("slow test: %d %s", r.status, r.body)
	}
}

// runStack runs the devstack with cfg (its Ready channel is set here) until
// t ends, and returns once it is ready.
func runStack(t *testing.T, cfg devstack.Config) devstack.Info {
	t.Helper()
	if cfg.Services.HealthScheduler.Retry == (resilience.Policy{}) {
		// The same attempts as the service's default, with short waits:
		// most of these tests' integrations point at hosts that do not
		// resolve, so a new integration's first check fails, and with the
		// service's backoff (500 ms doubling, per level) the stack's
		// shutdown waited about 10 s for the handler to finish retrying.
		cfg.Services.HealthScheduler.Retry = resilience.Policy{InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond,
			MaxElapsed: 5 * time.Second, MaxAttempts: 3, Multiplier: 2, RandomizationFactor: 0.5, MaxRetryAfter: 5 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan devstack.Info, 1)
	done := make(chan error, 1)
	cfg.Ready = ready
	go func() { done <- devstack.Run(ctx, cfg) }()
	var info devstack.Info
	select {
	case info = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("devstack: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("devstack did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("devstack: %v", err)
		}
	})
	return info
}

// natsConn connects to the stack's NATS server (as its admin) until t ends.
func natsConn(t *testing.T, info devstack.Info) *nats.Conn {
	t.Helper()
	nc, _ := natstest.ConnectURL(t, info.NATSURL)
	return nc
}
