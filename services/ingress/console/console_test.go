package console

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// fakeAPI stands in for the ingress's route table: two tokens (an operator
// and a tenant), one integration whose config holds a secret field set to a
// literal (as an old record could) and one set to a reference.
func fakeAPI(t *testing.T) http.Handler {
	t.Helper()
	ids := map[string]contracts.Identity{
		"op-token":     {Kind: "token", Name: "ops", TenantID: "t1", Roles: []string{"operator"}},
		"tenant-token": {Kind: "token", Name: "team", TenantID: "t2"},
	}
	mux := http.NewServeMux()
	auth := func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if _, ok := ids[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; !ok {
				w.WriteHeader(http.StatusUnauthorized)
				_ = json.NewEncoder(w).Encode(contracts.ErrorBody{Code: "UNAUTHORIZED", Message: "the bearer token is not valid"})
				return
			}
			next(w, r)
		}
	}
	mux.HandleFunc("/api/v1/whoami", auth(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(ids[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")])
	}))
	mux.HandleFunc("/api/v1/integrations/providers", auth(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(contracts.ProviderList{Items: []contracts.ProviderInfo{{ID: "p", Name: "P", Category: "registry", Capabilities: []string{"check", "trigger"},
			ConfigFields: []contracts.ConfigField{{Name: "url", Type: "url"}, {Name: "keyRef", Type: "string", Secret: true}, {Name: "passRef", Type: "string", Secret: true}}}}})
	}))
	mux.HandleFunc("/api/v1/integrations/i1", auth(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(contracts.Integration{ID: "i1", TypeID: "p", Name: "one", HealthStatus: "healthy",
			Config: map[string]any{"url": "https://r.example", "keyRef": "hunter2-literal", "passRef": "env://DEV_PASS", "undeclared": "x-literal"}})
	}))
	// Its audit records, oldest first: created by ops, then an edit whose
	// record (written before keyRef was declared secret, say) carries the
	// literal, which the page must not show either.
	mux.HandleFunc("/api/v1/audit", auth(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("resourceType") != contracts.AuditIntegration || q.Get("resourceId") != "i1" {
			_ = json.NewEncoder(w).Encode(contracts.AuditPage{Items: []contracts.AuditRecord{}})
			return
		}
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		_ = json.NewEncoder(w).Encode(contracts.AuditPage{Items: []contracts.AuditRecord{
			{ID: "integration:i1:1", TenantID: "t1", ResourceType: contracts.AuditIntegration, ResourceID: "i1", Action: contracts.AuditCreated,
				Actor: &contracts.Actor{Kind: "token", Name: "ops"}, Revision: 1, OccurredAt: t0,
				Changes: []contracts.FieldChange{{Field: "name", New: "one"}, {Field: "credentialRef", ValuesOmitted: contracts.OmittedSecret}}},
			{ID: "integration:i1:2", TenantID: "t1", ResourceType: contracts.AuditIntegration, ResourceID: "i1", Action: contracts.AuditUpdated,
				Actor: &contracts.Actor{Kind: "oidc", Name: "alice", Issuer: "https://id.example"}, Revision: 2, OccurredAt: t0.Add(time.Hour),
				Changes: []contracts.FieldChange{{Field: "config.url", Old: "https://old.example", New: "https://r.example"},
					{Field: "config.keyRef", Old: "env://OLD", New: "hunter2-literal"}, {Field: "config.passRef", New: "env://DEV_PASS"}}},
		}})
	}))
	// Its pipeline runs, a page of two and a cursor to the next.
	mux.HandleFunc("/api/v1/integrations/i1/runs", auth(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cursor") == "c2" {
			_ = json.NewEncoder(w).Encode(contracts.PipelineRunList{Items: []contracts.PipelineRun{{RunID: "run-old", Pipeline: "deploy", Status: contracts.RunSucceeded}}})
			return
		}
		_ = json.NewEncoder(w).Encode(contracts.PipelineRunList{NextCursor: "c2", Items: []contracts.PipelineRun{
			{RunID: "run-2", Pipeline: "deploy", Ref: "main", Status: contracts.RunFailed, Error: &contracts.ErrorBody{Code: "AUTHENTICATION_FAILED", Message: "the token was refused"}},
			{RunID: "run-1", Pipeline: "deploy", Ref: "main", Status: contracts.RunSucceeded, ProviderRunID: "4711", WebURL: "https://ci.example/p/4711", DurationMs: 1234},
		}})
	}))
	mux.HandleFunc("/api/v1/analysis-runs/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "a1" {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(contracts.ErrorBody{Code: "NOT_FOUND", Message: "analysis run not found"})
			return
		}
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		_ = json.NewEncoder(w).Encode(contracts.AnalysisRun{RunID: "a1", TenantID: "t1", Status: "completed", Verdict: "Failed", Message: "error-rate failed",
			Results: []contracts.AnalysisMetricResult{{Name: "error-rate", Phase: "Failed", Measurements: 2, Successful: 1, Failed: 1}},
			Measurements: []contracts.AnalysisMeasurement{{Metric: "error-rate", Index: 0, Phase: "Successful", MeasuredAt: t0},
				{Metric: "error-rate", Index: 1, Phase: "Failed", MeasuredAt: t0.Add(time.Minute)}},
			CreatedAt: t0})
	}))
	return mux
}

// The pipeline runs of an integration page by the API's cursor and show
// the provider's link and a refused trigger's code; an analysis run shows
// its verdict, each metric and its measurements newest first; a run the
// API does not find is the console's 404.
func TestRunPages(t *testing.T) {
	c := newTestConsole(t)
	tests := []struct {
		name, target string
		status       int
		want         []string
	}{
		{"integration links its runs", "/console/integrations/i1", http.StatusOK, []string{`href="/console/integrations/i1/runs"`}},
		{"runs, newest first", "/console/integrations/i1/runs", http.StatusOK, []string{`data-status="failed"`, "<code>AUTHENTICATION_FAILED</code> the token was refused",
			`href="https://ci.example/p/4711"`, "1234 ms", `href="/console/integrations/i1/runs?cursor=c2"`}},
		{"the next page", "/console/integrations/i1/runs?cursor=c2", http.StatusOK, []string{"run-old"}},
		{"ask for an analysis run", "/console/analysis-runs", http.StatusOK, []string{`<label for="run-id">`}},
		{"an analysis run", "/console/analysis-runs?id=a1", http.StatusOK, []string{`data-verdict="Failed"`, `<tr data-phase="Failed"><td>error-rate</td>`, "error-rate failed"}},
		{"an unknown analysis run", "/console/analysis-runs?id=nope", http.StatusNotFound, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(c, "GET", tc.target, "op-token", nil)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Fatalf("%d, want %d: %s", w.Code, tc.status, body)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if tc.name == "runs, newest first" && strings.Index(body, "run-2") > strings.Index(body, "run-1") {
				t.Error("runs are not newest first")
			}
			if tc.name == "an analysis run" && strings.Index(body, "<td>1</td><td>Failed</td>") > strings.Index(body, "<td>0</td><td>Successful</td>") {
				t.Error("measurements are not newest first")
			}
		})
	}
}

func newTestConsole(t *testing.T) *Console {
	t.Helper()
	c, err := New(Config{API: fakeAPI(t)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func do(c http.Handler, method, target, cookie string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	return w
}

func TestLoginSetsAStrictHttpOnlyCookie(t *testing.T) {
	c := newTestConsole(t)
	tests := []struct {
		name, token string
		headers     []string
		status      int
		secure      bool
	}{
		{"valid", "op-token", nil, http.StatusSeeOther, false},
		{"valid behind TLS", "op-token", []string{"X-Forwarded-Proto", "https"}, http.StatusSeeOther, true},
		{"invalid token", "nope", nil, http.StatusUnauthorized, false},
		{"cross-site form", "op-token", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, false},
		{"other origin", "op-token", []string{"Origin", "https://evil.example"}, http.StatusForbidden, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(c, "POST", "/console/login", "", url.Values{"token": {tc.token}}, tc.headers...)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			cookies := w.Result().Cookies()
			if tc.status != http.StatusSeeOther {
				if len(cookies) != 0 {
					t.Fatalf("cookie set on a refused login: %v", cookies)
				}
				return
			}
			if len(cookies) != 1 {
				t.Fatalf("cookies %v", cookies)
			}
			ck := cookies[0]
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" || ck.Secure != tc.secure {
				t.Fatalf("cookie %+v", ck)
			}
			if strings.Contains(w.Body.String(), tc.token) {
				t.Fatal("the token is in the page")
			}
		})
	}
}

func TestPostsNeedTheSessionsCSRFToken(t *testing.T) {
	c := newTestConsole(t)
	tests := []struct {
		name    string
		form    url.Values
		headers []string
		status  int
	}{
		{"no token", url.Values{}, nil, http.StatusForbidden},
		{"another session's token", url.Values{"csrf": {csrfToken("tenant-token")}}, nil, http.StatusForbidden},
		{"right token, cross-site", url.Values{"csrf": {csrfToken("op-token")}}, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"right token in the form", url.Values{"csrf": {csrfToken("op-token")}}, nil, http.StatusSeeOther},
		{"right token in the header", url.Values{}, []string{"X-CSRF-Token", csrfToken("op-token")}, http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if w := do(c, "POST", "/console/logout", "op-token", tc.form, tc.headers...); w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
		})
	}
}

func TestOperatorPagesRefuseTenants(t *testing.T) {
	c := newTestConsole(t)
	for _, path := range []string{"/console/ops/dlq", "/console/ops/dlq/1", "/console/ops/events", "/console/ops/events/stream", "/console/ops/dlq/purge"} {
		w := do(c, "GET", path, "tenant-token", nil)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "operator role") {
			t.Errorf("%s: %d", path, w.Code)
		}
	}
	if w := do(c, "GET", "/console/integrations", "", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/login" {
		t.Errorf("no session: %d %s", w.Code, w.Header().Get("Location"))
	}
	if w := do(c, "GET", "/console/integrations", "stale", nil); w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("stale session: %d %v", w.Code, w.Header())
	}
}

// A secret field shows a credential reference, never anything else; a key
// the provider does not declare is hidden too.
func TestSecretsAreNeverRendered(t *testing.T) {
	c := newTestConsole(t)
	for _, path := range []string{"/console/integrations/i1", "/console/integrations/i1/edit"} {
		w := do(c, "GET", path, "op-token", nil)
		body := w.Body.String()
		if w.Code != http.StatusOK || strings.Contains(body, "hunter2-literal") || strings.Contains(body, "x-literal") || !strings.Contains(body, "env://DEV_PASS") {
			t.Errorf("%s: %d, secret shown %v", path, w.Code, strings.Contains(body, "hunter2"))
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}

// The integration page shows its change history newest first: who, when,
// which fields with their values, and only the fact that a secret field
// changed.
func TestHistoryShowsWhoWhenWhat(t *testing.T) {
	c := newTestConsole(t)
	w := do(c, "GET", "/console/integrations/i1", "op-token", nil)
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, body)
	}
	start := strings.Index(body, `id="history"`)
	if start < 0 {
		t.Fatal("no history table")
	}
	h := body[start:]
	h = h[:strings.Index(h, "</table>")]
	for _, want := range []string{
		`data-revision="2"`, "alice (https://id.example)", "2026-12-06", "<code>config.url</code>: <del>https://old.example</del> → <ins>https://r.example</ins>",
		"<code>config.keyRef</code> changed (value not shown: secret)", "<ins>env://DEV_PASS</ins>",
		`data-revision="1"`, `<td class="actor">ops</td>`, "<code>credentialRef</code> changed (value not shown: secret)",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("history lacks %q:\n%s", want, h)
		}
	}
	if strings.Index(h, `data-revision="2"`) > strings.Index(h, `data-revision="1"`) {
		t.Error("history is not newest first")
	}
	if strings.Contains(body, "hunter2") {
		t.Error("a secret literal is rendered")
	}
}

// readForm turns a posted form into the API's input: empty fields are left
// to the provider's defaults, a checkbox at its default is not sent unless
// the stored config holds it,
// lists are one per line, and a literal in a secret field is sent (the API
// refuses it) but never put back into the form.
func TestReadForm(t *testing.T) {
	p := contracts.ProviderInfo{ID: "p", ConfigFields: []contracts.ConfigField{
		{Name: "url", Type: "url"}, {Name: "retries", Type: "integer", Default: 3}, {Name: "insecure", Type: "boolean", Default: false},
		{Name: "tags", Type: "stringList"}, {Name: "keyRef", Type: "string", Secret: true},
	}}
	tests := []struct {
		name      string
		form      url.Values
		stored    map[string]any
		config    map[string]any
		labels    map[string]string
		labelsErr bool
		keyShown  string
	}{
		{"empty fields keep the defaults", url.Values{"cfg.url": {"https://r"}, "cfg.retries": {""}, "cfg.insecure": {"false"}}, nil,
			map[string]any{"url": "https://r"}, nil, false, ""},
		{"an edit sends a stored checkbox as it is", url.Values{"cfg.insecure": {"false"}}, map[string]any{"insecure": true}, map[string]any{"insecure": false}, nil, false, ""},
		{"an edit leaves an unset checkbox at its default unset", url.Values{"cfg.insecure": {"false"}}, map[string]any{}, map[string]any{}, nil, false, ""},
		{"an edit sends a checkbox ticked away from its default", url.Values{"cfg.insecure": {"false", "true"}}, map[string]any{}, map[string]any{"insecure": true}, nil, false, ""},
		{"a ticked checkbox wins over its hidden false", url.Values{"cfg.insecure": {"false", "true"}}, nil, map[string]any{"insecure": true}, nil, false, ""},
		{"numbers and lists", url.Values{"cfg.retries": {"5"}, "cfg.tags": {"a\n\n b \n"}}, nil, map[string]any{"retries": int64(5), "tags": []string{"a", "b"}}, nil, false, ""},
		{"a bad number goes to the API as written", url.Values{"cfg.retries": {"five"}}, nil, map[string]any{"retries": "five"}, nil, false, ""},
		{"a literal secret is sent, not shown", url.Values{"cfg.keyRef": {"hunter2"}}, nil, map[string]any{"keyRef": "hunter2"}, nil, false, ""},
		{"a reference is shown", url.Values{"cfg.keyRef": {"env://KEY"}}, nil, map[string]any{"keyRef": "env://KEY"}, nil, false, "env://KEY"},
		{"labels", url.Values{"labels": {"env=prod\n team = a \n"}}, nil, map[string]any{}, map[string]string{"env": "prod", "team": "a"}, false, ""},
		{"a label without =", url.Values{"labels": {"env"}}, nil, map[string]any{}, nil, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			in, form := readForm(r, p, tc.stored)
			got, _ := json.Marshal(in.Config)
			want, _ := json.Marshal(tc.config)
			if string(got) != string(want) {
				t.Errorf("config %s, want %s", got, want)
			}
			gotL, _ := json.Marshal(in.Labels)
			wantL, _ := json.Marshal(tc.labels)
			if string(gotL) != string(wantL) || (form.LabelsErr != "") != tc.labelsErr {
				t.Errorf("labels %s (error %q), want %s", gotL, form.LabelsErr, wantL)
			}
			for _, f := range form.Fields {
				if f.Name == "keyRef" && f.Value != tc.keyShown {
					t.Errorf("keyRef shown as %q, want %q", f.Value, tc.keyShown)
				}
			}
		})
	}
}
