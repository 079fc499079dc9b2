package devstack_test

// The cross-tenant suite: two tenants on one hub, A (the dev tenant) and B.
// B tries every verb of every HTTP route the ingress serves and every
// request-reply endpoint of the manager (and of the notifier's rules) on A's
// resources, and saves every kind of credential reference pointing at A's
// secrets. Nothing B does may succeed, and wherever the README promises 404
// B's answer must be the very answer for an id that does not exist, so B
// cannot even learn that A's resource is there. The routes and endpoints are
// read from the code and the running services, so a new one fails the suite
// until it has a case.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// Tenant A's secret values; none may ever reach B or an endpoint of B's.
const (
	secretOfA     = "LEAK-secret-of-tenant-a-5d1e"
	fileSecretOfA = "LEAK-file-secret-of-tenant-a-77c0"
)

// recorder is an HTTP endpoint that keeps what it was sent.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []http.Header // with the path as header ":path"
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := req.Header.Clone()
		h.Set(":path", req.URL.Path)
		r.mu.Lock()
		r.seen = append(r.seen, h)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// requests returns the headers of the requests sent to path.
func (r *recorder) requests(path string) []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []http.Header
	for _, h := range r.seen {
		if h.Get(":path") == path {
			out = append(out, h)
		}
	}
	return out
}

// crossFixture is the hub and what tenant A has on it.
type crossFixture struct {
	s      *stack
	nc     *nats.Conn
	rec    *recorder
	storeA contracts.Integration // a secret store, "vault-a"
	hookA  contracts.Integration // a webhook sending A's secrets to rec /a
	ruleA  contracts.NotificationRule
	promA  contracts.Integration // a prometheus integration of a fake answering no data
	runA   contracts.AnalysisRun // an analysis run of promA
	fileA  string                // A's file:// secret
	// leaks are strings that must never appear in anything B receives.
	leaks []string
}

// runBody is an analysis run of one metric of integration id.
func runBody(id string) map[string]any {
	return map[string]any{"metrics": []map[string]any{{"name": "m", "integrationId": id, "query": "up", "successCondition": "true", "count": 1}}}
}

// quietChecks keeps scheduled health checks out of the way.
func quietChecks(cfg map[string]any) map[string]any {
	for k, v := range map[string]any{"connectivityCheckSeconds": 3600, "authenticationCheckSeconds": 3600, "functionalityCheckSeconds": 3600} {
		cfg[k] = v
	}
	return cfg
}

func startCrossTenant(t *testing.T) *crossFixture {
	t.Helper()
	local, secrets := localSecrets(t, map[string]string{
		"INTHUB_SECRET_DEV_TOKEN": secretOfA,
		"INTHUB_SECRET_DEV_VAULT": secretOfA,
		"INTHUB_SECRET_B_TOKEN":   "token-of-tenant-b",
	})
	info := runStack(t, devstack.Config{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), Local: &local,
		// The recorder is on loopback; the guard would refuse it.
		Policy:      httpx.GuardPolicy{AllowPrivate: true},
		TestTimeout: 20 * time.Second,
		ExtraTokens: []ingress.TokenEntry{{Principal: ingress.Principal{Name: "b", TenantID: tenantB}, SHA256: ingress.HashToken(tokenB)}},
	})
	nc := natsConn(t, info)
	f := &crossFixture{s: &stack{t: t, base: "http://" + info.HTTPAddr, info: info, secrets: secrets}, nc: nc, rec: newRecorder(t)}
	f.fileA = writeSecret(t, filepath.Join(secrets, "dev"), "hook.json", `{"secret":"`+fileSecretOfA+`"}`)

	f.storeA = f.createA(map[string]any{"typeId": "hashicorp-vault", "name": "vault-a", "credentialRef": "env://INTHUB_SECRET_DEV_VAULT",
		"config": quietChecks(map[string]any{"url": "http://127.0.0.1:1", "mountPath": "secret"})})
	f.hookA = f.createA(map[string]any{"typeId": "webhook", "name": "A's hooks", "credentialRef": "env://INTHUB_SECRET_DEV_TOKEN",
		"config": quietChecks(map[string]any{"url": f.rec.srv.URL + "/a", "signingSecretRef": f.fileA + "#secret"}),
		"labels": map[string]string{"environment": "production"}})
	r := f.createRule(info.Token, ruleBody("A's rule", f.hookA.ID))
	r.decode(&f.ruleA)
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	t.Cleanup(prom.Close)
	f.promA = f.createA(map[string]any{"typeId": "prometheus", "name": "A's prometheus", "config": quietChecks(map[string]any{"url": prom.URL})})
	r = f.s.call("POST", "/api/v1/analysis-runs", info.Token, runBody(f.promA.ID))
	if r.status != http.StatusCreated {
		t.Fatalf("A's analysis run: %d %s", r.status, r.body)
	}
	r.decode(&f.runA)
	f.leaks = []string{secretOfA, fileSecretOfA, f.storeA.ID, f.hookA.ID, f.ruleA.ID, f.promA.ID, f.runA.RunID, "vault-a", "A's hooks", "A's rule", devstack.DevTenantID}
	return f
}

func (f *crossFixture) createA(body map[string]any) contracts.Integration {
	f.s.t.Helper()
	r := f.s.call("POST", "/api/v1/integrations", f.s.info.Token, body)
	if r.status != http.StatusCreated {
		f.s.t.Fatalf("create %v for A: %d %s", body["name"], r.status, r.body)
	}
	var it contracts.Integration
	r.decode(&it)
	return it
}

// createRule creates a rule once the notifier serves and knows the target
// (it may still be starting, and its view of the catalog follows it).
func (f *crossFixture) createRule(token string, body map[string]any) response {
	f.s.t.Helper()
	var r response
	eventually(f.s.t, "a rule created", func() bool {
		r = f.s.call("POST", "/api/v1/notification-rules", token, body)
		return r.status == http.StatusCreated
	})
	return r
}

func ruleBody(name, target string) map[string]any {
	return map[string]any{"name": name, "match": map[string]any{"eventTypes": []string{"notification.send.requested"}},
		"targets": []map[string]any{{"integrationId": target}}}
}

// hookOf is the body of a webhook integration with the given references.
func hookOf(url, credentialRef, signingRef string) map[string]any {
	cfg := map[string]any{"url": url}
	if signingRef != "" {
		cfg["signingSecretRef"] = signingRef
	}
	body := map[string]any{"typeId": "webhook", "name": "B's hooks", "config": quietChecks(cfg)}
	if credentialRef != "" {
		body["credentialRef"] = credentialRef
	}
	return body
}

// answer is a response reduced to what a caller can tell apart, with the
// ids named in the request replaced, so that the answer about A's resource
// can be compared with the answer about a missing one.
type answer struct {
	Status  int
	Code    string
	Message string
	Details string
}

func (f *crossFixture) normalise(status int, body []byte, ids ...string) answer {
	var e contracts.ErrorBody
	_ = json.Unmarshal(body, &e)
	details, _ := json.Marshal(e.Details)
	a := answer{Status: status, Code: e.Code, Message: e.Message, Details: string(details)}
	for _, id := range ids {
		if id == "" {
			continue
		}
		a.Message = strings.ReplaceAll(a.Message, id, "<id>")
		a.Details = strings.ReplaceAll(a.Details, id, "<id>")
	}
	return a
}

// assertNoLeak fails if anything of A's is in what B received, but for
// what B sent itself (an id of A's in the path is echoed as B wrote it).
func (f *crossFixture) assertNoLeak(t *testing.T, what string, body []byte, header http.Header, sent ...string) {
	t.Helper()
	head, _ := json.Marshal(header)
	for _, s := range f.leaks {
		if slices.Contains(sent, s) {
			continue
		}
		if strings.Contains(string(body), s) || strings.Contains(string(head), s) {
			t.Errorf("%s: B received %q of tenant A: %s", what, s, body)
		}
	}
}

// route is one method of one pattern the ingress serves.
type route struct{ method, pattern string }

func (r route) String() string { return r.method + " " + r.pattern }

// servedRoutes lists what the ingress serves: the patterns its code
// registers (mux.Handle and mux.HandleFunc with a literal pattern), and for
// each the methods it answers, as its 405 says (Allow); a pattern that
// answers every method is listed with method "*".
func (f *crossFixture) servedRoutes(t *testing.T) []route {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "ingress", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("ingress sources not found: %v", err)
	}
	var patterns []string
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		tree, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(tree, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if p, err := strconv.Unquote(lit.Value); err == nil && p != "/" {
					patterns = append(patterns, p)
				}
			}
			return true
		})
	}
	if len(patterns) < 10 {
		t.Fatalf("found only %d route patterns in the ingress: %v", len(patterns), patterns)
	}
	var out []route
	for _, p := range patterns {
		path := regexp.MustCompile(`\{[a-z]+\}`).ReplaceAllString(p, "1")
		// OPTIONS is no route's method: the 405 lists the methods served.
		r := f.s.call("OPTIONS", path, f.s.info.Token, nil)
		if r.status != http.StatusMethodNotAllowed {
			out = append(out, route{"*", p})
			continue
		}
		for _, m := range strings.Split(r.header.Get("Allow"), ", ") {
			out = append(out, route{m, p})
		}
	}
	return out
}

// httpCase is what B tries on one route.
type httpCase struct {
	// kind: "404" (a resource of A's: the answer must equal the answer for
	// a missing one, 404), "collection" (B's own list: none of A's in it),
	// "create" (saving references to A's things: refused, answers equal to
	// those for things that do not exist), "operator" (403 to B whatever
	// the resource), "public" (nothing of a tenant in it), "signed" (a
	// provider's webhook: whatever token or signature B sends, A's
	// integration answers as a missing one, 404).
	kind string
	// path with {id} for A's resource; body and headers of the request.
	path    string
	body    func(id string) any
	headers []string
	// idPath, if set, is the idOf key of the resource in path.
	idPath string
}

func TestCrossTenant(t *testing.T) {
	t.Parallel()
	f := startCrossTenant(t)
	a := f.s.info.Token
	etagOf := func(path string) string { return f.s.call("GET", path, a, nil).header.Get("ETag") }
	integrationPath, rulePath := "/api/v1/integrations/{id}", "/api/v1/notification-rules/{id}"
	// B's own notification integration, so that B's rule bodies are valid
	// and only whose rule it is decides.
	r := f.s.call("POST", "/api/v1/integrations", tokenB, hookOf(f.rec.srv.URL+"/b", "", ""))
	if r.status != http.StatusCreated {
		t.Fatalf("B's integration: %d %s", r.status, r.body)
	}
	var hookB contracts.Integration
	r.decode(&hookB)
	f.createRule(tokenB, ruleBody("B's own rule", hookB.ID))
	hookEdit := func(string) any { return hookOf(f.rec.srv.URL+"/b", "", "") }
	ruleEdit := func(string) any { return ruleBody("B was here", hookB.ID) }
	const runPath = "/api/v1/analysis-runs/{id}"
	idOf := map[string]string{integrationPath: f.hookA.ID, rulePath: f.ruleA.ID, runPath: f.runA.RunID}
	pipelineRunA := f.runOfA(t)
	pipelineRunPath := integrationPath + "/runs/" + pipelineRunA

	cases := map[string]httpCase{
		"GET /api/v1/integrations/{id}":                      {kind: "404", path: integrationPath},
		"PUT /api/v1/integrations/{id}":                      {kind: "404", path: integrationPath, body: hookEdit},
		"PATCH /api/v1/integrations/{id}":                    {kind: "404", path: integrationPath, body: func(string) any { return `{"name":"B was here"}` }, headers: []string{"Content-Type", "application/merge-patch+json"}},
		"DELETE /api/v1/integrations/{id}":                   {kind: "404", path: integrationPath},
		"POST /api/v1/integrations/{id}/test":                {kind: "404", path: integrationPath + "/test"},
		"POST /api/v1/integrations/{id}/discover":            {kind: "404", path: integrationPath + "/discover", body: func(string) any { return map[string]any{"resourceType": "repositories"} }},
		"POST /api/v1/integrations/{id}/query":               {kind: "404", path: integrationPath + "/query", body: func(string) any { return map[string]any{"query": "up"} }},
		"POST /api/v1/integrations/{id}/runs":                {kind: "404", path: integrationPath + "/runs", idPath: integrationPath, body: func(string) any { return map[string]any{"pipeline": "deploy"} }},
		"GET /api/v1/integrations/{id}/runs":                 {kind: "404", path: integrationPath + "/runs", idPath: integrationPath},
		"GET /api/v1/integrations/{id}/runs/{runId}":         {kind: "404", path: pipelineRunPath, idPath: integrationPath},
		"POST /api/v1/integrations/{id}/runs/{runId}/cancel": {kind: "404", path: pipelineRunPath + "/cancel", idPath: integrationPath},
		"GET /api/v1/notification-rules/{id}":                {kind: "404", path: rulePath},
		"GET /api/v1/analysis-runs/{id}":                     {kind: "404", path: runPath},
		"POST /api/v1/analysis-runs/{id}/cancel":             {kind: "404", path: runPath + "/cancel"},
		"POST /api/v1/analysis-runs":                         {kind: "create", path: "/api/v1/analysis-runs"},
		"PUT /api/v1/notification-rules/{id}":                {kind: "404", path: rulePath, body: ruleEdit},
		"DELETE /api/v1/notification-rules/{id}":             {kind: "404", path: rulePath},
		"GET /api/v1/notification-rules/{id}/deliveries":     {kind: "404", path: rulePath + "/deliveries", idPath: rulePath},
		"GET /api/v1/integrations":                           {kind: "collection", path: "/api/v1/integrations"},
		"GET /api/v1/notification-rules":                     {kind: "collection", path: "/api/v1/notification-rules"},
		"GET /api/v1/audit":                                  {kind: "collection", path: "/api/v1/audit"},
		"POST /api/v1/integrations":                          {kind: "create", path: "/api/v1/integrations"},
		"POST /api/v1/notification-rules":                    {kind: "create", path: "/api/v1/notification-rules"},
		"POST /api/v1/notification-rules/preview":            {kind: "preview", path: "/api/v1/notification-rules/preview"},
		"GET /api/v1/operator/events":                        {kind: "operator", path: "/api/v1/operator/events"},
		"GET /api/v1/operator/events/stream":                 {kind: "operator", path: "/api/v1/operator/events/stream"},
		"POST /api/v1/operator/events/replay":                {kind: "operator", path: "/api/v1/operator/events/replay"},
		"GET /api/v1/operator/dlq":                           {kind: "operator", path: "/api/v1/operator/dlq"},
		"POST /api/v1/operator/dlq/purge":                    {kind: "operator", path: "/api/v1/operator/dlq/purge"},
		"GET /api/v1/operator/dlq/{seq}":                     {kind: "operator", path: "/api/v1/operator/dlq/{id}"},
		"DELETE /api/v1/operator/dlq/{seq}":                  {kind: "operator", path: "/api/v1/operator/dlq/{id}"},
		"POST /api/v1/operator/dlq/{seq}/redrive":            {kind: "operator", path: "/api/v1/operator/dlq/{id}/redrive"},
		"GET /api/v1/integrations/providers":                 {kind: "public", path: "/api/v1/integrations/providers?includeTestOnly=true"},
		"POST /api/v1/hooks/{integrationId}":                 {kind: "signed", path: "/api/v1/hooks/{id}", idPath: integrationPath},
		"* /healthz":                                         {kind: "public", path: "/healthz"},
		"* /readyz":                                          {kind: "public", path: "/readyz"},
		"* /api/v1/openapi.json":                             {kind: "public", path: "/api/v1/openapi.json"},
		"GET /api/v1/whoami":                                 {kind: "public", path: "/api/v1/whoami"},
	}

	// Every route served has a case, and every case a route.
	served := f.servedRoutes(t)
	covered := map[string]bool{}
	for _, r := range served {
		if _, ok := cases[r.String()]; !ok {
			t.Errorf("the ingress serves %s, which the cross-tenant suite does not try: add a case", r)
		}
		covered[r.String()] = true
	}
	for name := range cases {
		if !covered[name] {
			t.Errorf("case %s is not a route the ingress serves", name)
		}
	}

	before := f.snapshotA(t)
	for _, r := range served {
		tc, ok := cases[r.String()]
		if !ok {
			continue
		}
		method := r.method
		if method == "*" {
			method = "GET"
		}
		t.Run(r.String(), func(t *testing.T) {
			switch tc.kind {
			case "404":
				idA := idOf[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(tc.path, "/test"), "/discover"), "/query"), "/cancel")]
				if tc.idPath != "" {
					idA = idOf[tc.idPath]
				}
				missing := uuid.Must(uuid.NewV7()).String()
				var answers []answer
				for _, id := range []string{idA, missing} {
					var body any
					if tc.body != nil {
						body = tc.body(id)
					}
					path := strings.ReplaceAll(tc.path, "{id}", id)
					// With A's current ETag: B holds everything A would.
					headers := append([]string{"If-Match", etagOf(strings.ReplaceAll(tc.path, "{id}", idA))}, tc.headers...)
					resp := f.s.call(method, path, tokenB, body, headers...)
					f.assertNoLeak(t, "answer", resp.body, resp.header, id)
					answers = append(answers, f.normalise(resp.status, resp.body, id))
				}
				if answers[0].Status != http.StatusNotFound || answers[0] != answers[1] {
					t.Fatalf("B on A's resource: %+v; B on a missing one: %+v (want both the same 404)", answers[0], answers[1])
				}
			case "collection":
				for _, q := range []string{"", "?labelSelector=environment%3Dproduction", "?typeId=webhook", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(f.storeA.ID))} {
					if (strings.Contains(tc.path, "notification-rules") || strings.HasSuffix(tc.path, "/audit")) && q != "" {
						continue
					}
					resp := f.s.call(method, tc.path+q, tokenB, nil)
					if resp.status != http.StatusOK {
						t.Fatalf("B's list %s: %d %s", q, resp.status, resp.body)
					}
					// Nothing of A's: no id, name or tenant id of A's.
					f.assertNoLeak(t, "list", resp.body, resp.header)
				}
			case "create":
				f.tryCreates(t, tc.path)
			case "operator":
				var answers []answer
				for _, id := range []string{"1", "987654321"} {
					resp := f.s.call(method, strings.ReplaceAll(tc.path, "{id}", id), tokenB, map[string]any{})
					f.assertNoLeak(t, "operator answer", resp.body, resp.header)
					answers = append(answers, f.normalise(resp.status, resp.body, id))
				}
				if answers[0].Status != http.StatusForbidden || answers[0] != answers[1] {
					t.Fatalf("B on an operator endpoint: %+v / %+v (want 403)", answers[0], answers[1])
				}
			case "signed":
				missing := uuid.Must(uuid.NewV7()).String()
				for _, tok := range []string{tokenB, ""} {
					var answers []answer
					for _, id := range []string{idOf[tc.idPath], missing} {
						resp := f.s.call(method, strings.ReplaceAll(tc.path, "{id}", id), tok, map[string]any{"object_kind": "pipeline"},
							"X-Gitlab-Token", "guess", "X-Hub-Signature-256", "sha256=00")
						f.assertNoLeak(t, "webhook answer", resp.body, resp.header, id)
						answers = append(answers, f.normalise(resp.status, resp.body, id))
					}
					if answers[0].Status != http.StatusNotFound || answers[0] != answers[1] {
						t.Fatalf("webhook to A's integration: %+v; to a missing one: %+v (want both the same 404)", answers[0], answers[1])
					}
				}
			case "preview":
				// B's templates render on samples of B's own tenant: the
				// tenant a template sees is the caller's, never a body's.
				resp := f.s.call(method, tc.path, tokenB, map[string]any{
					"eventTypes": []string{contracts.SubjectHealthChanged},
					"template":   map[string]any{"title": "{{.Tenant}}", "webhook": `{"tenant": "{{.Tenant}}", "name": "{{.Integration.Name}}"}`},
				})
				if resp.status != http.StatusOK || !strings.Contains(string(resp.body), `"title":"`+tenantB+`"`) {
					t.Fatalf("B's preview: %d %s", resp.status, resp.body)
				}
				f.assertNoLeak(t, "preview", resp.body, resp.header)
			case "public":
				for _, tok := range []string{tokenB, ""} {
					resp := f.s.call(method, tc.path, tok, nil)
					f.assertNoLeak(t, "public answer", resp.body, resp.header)
				}
			default:
				t.Fatalf("unknown kind %q", tc.kind)
			}
		})
	}
	if after := f.snapshotA(t); after != before {
		t.Fatalf("A's resources changed while B tried them:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshotA renders A's integrations and rules with their revisions.
func (f *crossFixture) snapshotA(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{"/api/v1/integrations", "/api/v1/notification-rules"} {
		r := f.s.call("GET", path, f.s.info.Token, nil)
		var l struct {
			Items []struct {
				ID, Name string
				Revision uint64
			}
		}
		r.decode(&l)
		for _, it := range l.Items {
			fmt.Fprintf(&b, "%s %s r%d; ", it.ID, it.Name, it.Revision)
		}
	}
	return b.String()
}

// refCase is a reference to something of A's and, for comparison, the same
// kind of reference to something that does not exist (or that nobody
// granted B).
type refCase struct{ name, ofA, missing string }

// refCases are every reference scheme pointing at A's secrets and store.
func (f *crossFixture) refCases() []refCase {
	nobody := "0193a0b4-0000-7000-8000-0000000000ff"
	return []refCase{
		{"env:// of A", "env://INTHUB_SECRET_DEV_TOKEN", "env://INTHUB_SECRET_NOBODY_TOKEN"},
		{"file:// of A", f.fileA + "#secret", "file://" + filepath.Join(f.s.secrets, "nobody", "hook.json") + "#secret"},
		{"vault:// of A's store by id", "vault://" + f.storeA.ID + "/ci#token", "vault://" + nobody + "/ci#token"},
		{"vault:// of A's store by name", "vault://vault-a/ci#token", "vault://vault-z/ci#token"},
		{"authref:// of A's store by id", "authref://" + f.storeA.ID + "/ci", "authref://" + nobody + "/ci"},
		{"authref:// of A's store by name", "authref://vault-a/ci#token", "authref://vault-z/ci#token"},
	}
}

// tryCreates has B save what points at A's things through a create route.
func (f *crossFixture) tryCreates(t *testing.T, path string) {
	t.Helper()
	type attempt struct {
		name         string
		ofA, missing any
	}
	var attempts []attempt
	switch path {
	case "/api/v1/integrations":
		for _, rc := range f.refCases() {
			url := f.rec.srv.URL + "/b"
			attempts = append(attempts,
				attempt{rc.name + " as credentialRef", hookOf(url, rc.ofA, ""), hookOf(url, rc.missing, "")},
				attempt{rc.name + " in a secret config field", hookOf(url, "", rc.ofA), hookOf(url, "", rc.missing)})
		}
	case "/api/v1/notification-rules":
		attempts = append(attempts, attempt{"rule targeting A's integration", ruleBody("B's rule", f.hookA.ID), ruleBody("B's rule", uuid.Must(uuid.NewV7()).String())})
	case "/api/v1/analysis-runs":
		attempts = append(attempts, attempt{"run measuring A's integration", runBody(f.promA.ID), runBody(uuid.Must(uuid.NewV7()).String())})
	default:
		t.Fatalf("no create attempts for %s", path)
	}
	for _, at := range attempts {
		ofA := f.s.call("POST", path, tokenB, at.ofA)
		missing := f.s.call("POST", path, tokenB, at.missing)
		f.assertNoLeak(t, at.name, ofA.body, ofA.header, targetOf(at.ofA))
		got, want := f.normalise(ofA.status, ofA.body, f.hookA.ID, f.promA.ID), f.normalise(missing.status, missing.body, targetOf(at.missing))
		if got.Status != http.StatusBadRequest || got != want {
			t.Errorf("%s: %+v; the same for a missing one: %+v (want the same 400)", at.name, got, want)
		}
	}
}

// targetOf is the integration a rule or run body targets ("" for other bodies).
func targetOf(body any) string {
	m, _ := body.(map[string]any)
	if metrics, _ := m["metrics"].([]map[string]any); len(metrics) > 0 {
		id, _ := metrics[0]["integrationId"].(string)
		return id
	}
	targets, _ := m["targets"].([]map[string]any)
	if len(targets) == 0 {
		return ""
	}
	id, _ := targets[0]["integrationId"].(string)
	return id
}

// TestCrossTenantReferencesAreRefusedWhenSaved is item 1 and 6 end to end:
// every reference scheme pointing at A's secrets or store is refused for B
// on create, replace and patch of B's own integration (A itself may save
// each of them), with answers that do not tell B whether A's thing exists.
func TestCrossTenantReferencesAreRefusedWhenSaved(t *testing.T) {
	t.Parallel()
	f := startCrossTenant(t)
	url := f.rec.srv.URL + "/b"
	r := f.s.call("POST", "/api/v1/integrations", tokenB, hookOf(url, "env://INTHUB_SECRET_B_TOKEN", ""))
	if r.status != http.StatusCreated {
		t.Fatalf("B's own integration: %d %s", r.status, r.body)
	}
	var own contracts.Integration
	r.decode(&own)
	for _, rc := range f.refCases() {
		t.Run(rc.name, func(t *testing.T) {
			// A may: the refusal is about who asks.
			if r := f.s.call("POST", "/api/v1/integrations", f.s.info.Token, hookOf(f.rec.srv.URL+"/a", rc.ofA, "")); r.status != http.StatusCreated {
				t.Fatalf("A cannot save its own %s: %d %s", rc.ofA, r.status, r.body)
			}
			for _, ref := range []string{rc.ofA, rc.missing} {
				for _, try := range []struct {
					method, path string
					body         any
				}{
					{"POST", "/api/v1/integrations", hookOf(url, ref, "")},
					{"PUT", "/api/v1/integrations/" + own.ID, hookOf(url, ref, "")},
					{"PATCH", "/api/v1/integrations/" + own.ID, map[string]any{"config": map[string]any{"signingSecretRef": ref}}},
				} {
					resp := f.s.call(try.method, try.path, tokenB, try.body)
					f.assertNoLeak(t, try.method, resp.body, resp.header)
					if resp.status != http.StatusBadRequest {
						t.Fatalf("%s %s with %s: %d %s", try.method, try.path, ref, resp.status, resp.body)
					}
				}
			}
		})
	}
	if r := f.s.call("GET", "/api/v1/integrations/"+own.ID, tokenB, nil); r.header.Get("ETag") != fmt.Sprintf(`"%d"`, own.Revision) {
		t.Fatalf("B's integration changed by refused saves: %s", r.body)
	}
}

// TestCrossTenantTestNeverSendsAnotherTenantsSecret is item 1's attack end
// to end: an integration of B's whose references name A's env:// and
// file:// secrets and whose URL B controls. Saving it is refused; one that
// is in the catalog anyway (stored before the policy, say) is tested by B
// and checked on schedule, and its receiver never gets A's secret, while A's
// own integration with the same references does deliver it.
func TestCrossTenantTestNeverSendsAnotherTenantsSecret(t *testing.T) {
	t.Parallel()
	f := startCrossTenant(t)
	bad := hookOf(f.rec.srv.URL+"/b", "env://INTHUB_SECRET_DEV_TOKEN", f.fileA+"#secret")
	if r := f.s.call("POST", "/api/v1/integrations", tokenB, bad); r.status != http.StatusBadRequest || r.code() != "CREDENTIAL_REF_NOT_ALLOWED" {
		t.Fatalf("B saved A's references: %d %s", r.status, r.body)
	}
	// Put it in the catalog behind the manager's back.
	now := time.Now().UTC().Truncate(time.Millisecond)
	it := contracts.Integration{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenantB, TypeID: "webhook", Name: "B's hooks",
		Config: bad["config"].(map[string]any), CredentialRef: "env://INTHUB_SECRET_DEV_TOKEN", Labels: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	raw, _ := json.Marshal(it)
	js, err := jetstream.New(f.nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), catalog.BucketIntegrations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(context.Background(), tenantB+"."+it.ID, raw); err != nil {
		t.Fatal(err)
	}

	r := f.s.call("POST", "/api/v1/integrations/"+it.ID+"/test", tokenB, nil)
	var res contracts.TestResponse
	r.decode(&res)
	// Refused by the tenant's policy, not for want of a value.
	if auth := res.Data.AuthenticationTest; r.status != http.StatusOK || res.Success || auth.Status != "failed" || !strings.Contains(auth.Message, "assigned to it") {
		t.Fatalf("B's test: %d %s", r.status, r.body)
	}
	f.assertNoLeak(t, "B's test", r.body, r.header)
	for _, hint := range []string{"INTHUB_SECRET_DEV", f.s.secrets} {
		if strings.Contains(string(r.body), hint) {
			t.Fatalf("B's test result reveals the policy (%q): %s", hint, r.body)
		}
	}
	// A's own integration with the same references delivers them: the
	// receiver would have seen them had B's been resolved.
	r = f.s.call("POST", "/api/v1/integrations/"+f.hookA.ID+"/test", f.s.info.Token, nil)
	if r.decode(&res); r.status != http.StatusOK || !res.Success {
		t.Fatalf("A's test: %d %s", r.status, r.body)
	}
	sentA := f.rec.requests("/a")
	if !slices.ContainsFunc(sentA, func(h http.Header) bool { return h.Get("Authorization") == "Bearer "+secretOfA }) {
		t.Fatalf("A's secret did not reach A's receiver: %v", sentA)
	}
	sentB := f.rec.requests("/b")
	if len(sentB) == 0 {
		t.Fatal("B's receiver got nothing: the test did not run the integration")
	}
	for _, h := range sentB {
		if h.Get("Authorization") != "" || h.Get("X-Inthub-Signature") != "" {
			t.Fatalf("B's receiver got a credential or a signature: %v", h)
		}
		f.assertNoLeak(t, "B's receiver", nil, h)
	}
}

// microReply is one raw request-reply answer.
type microReply struct {
	status, code string
	body         []byte
}

func (f *crossFixture) request(t *testing.T, subject string, req any) microReply {
	t.Helper()
	body, _ := json.Marshal(req)
	msg, err := f.nc.Request(subject, body, 20*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	return microReply{status: msg.Header.Get(micro.ErrorCodeHeader), code: msg.Header.Get(micro.ErrorHeader), body: msg.Data}
}

// endpointsOf asks a running micro service for its endpoints' subjects.
func (f *crossFixture) endpointsOf(t *testing.T, service string) []string {
	t.Helper()
	msg, err := f.nc.Request("$SRV.INFO."+service, nil, 5*time.Second)
	if err != nil {
		t.Fatalf("%s info: %v", service, err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range info.Endpoints {
		out = append(out, e.Subject)
	}
	return out
}

// TestCrossTenantOnTheBus calls every request-reply endpoint of the manager
// (inthub.manager.*) and of the notifier's rules as tenant B on A's ids: the
// answers equal those for ids that do not exist.
func TestCrossTenantOnTheBus(t *testing.T) {
	t.Parallel()
	f := startCrossTenant(t)
	missing := uuid.Must(uuid.NewV7()).String()
	hookB := hookOf(f.rec.srv.URL+"/b", "", "")
	input := contracts.IntegrationInput{TypeID: "webhook", Name: "B was here", Config: hookB["config"].(map[string]any)}
	rule := contracts.NotificationRuleInput{Name: "B was here", Match: contracts.NotificationMatch{EventTypes: []string{"notification.send.requested"}},
		Targets: []contracts.NotificationTarget{{IntegrationID: f.hookA.ID}}}
	ruleTo := func(id string) contracts.NotificationRuleInput {
		r := rule
		r.Targets = []contracts.NotificationTarget{{IntegrationID: id}}
		return r
	}
	withRef := func(ref string) contracts.IntegrationInput {
		in := input
		in.CredentialRef = ref
		return in
	}
	// For each endpoint: B's request about A's resource, and the same
	// about a missing one ("" = B's own list: nothing of A's in it;
	// nil = no tenant data).
	type pair struct{ ofA, missing any }
	cases := map[string][]pair{
		catalog.SubjectGet:         {{catalog.GetRequest{TenantID: tenantB, ID: f.hookA.ID}, catalog.GetRequest{TenantID: tenantB, ID: missing}}},
		catalog.SubjectReplace:     {{catalog.ReplaceRequest{TenantID: tenantB, ID: f.hookA.ID, IfMatch: f.hookA.Revision, Input: input}, catalog.ReplaceRequest{TenantID: tenantB, ID: missing, IfMatch: f.hookA.Revision, Input: input}}},
		catalog.SubjectPatch:       {{catalog.PatchRequest{TenantID: tenantB, ID: f.hookA.ID, Patch: json.RawMessage(`{"name":"B"}`)}, catalog.PatchRequest{TenantID: tenantB, ID: missing, Patch: json.RawMessage(`{"name":"B"}`)}}},
		catalog.SubjectDelete:      {{catalog.DeleteRequest{TenantID: tenantB, ID: f.hookA.ID}, catalog.DeleteRequest{TenantID: tenantB, ID: missing}}},
		catalog.SubjectList:        {{catalog.ListRequest{TenantID: tenantB}, ""}},
		catalog.SubjectProvider:    {{catalog.ProvidersRequest{IncludeTestOnly: true}, nil}},
		notifyrules.SubjectGet:     {{notifyrules.GetRequest{TenantID: tenantB, ID: f.ruleA.ID}, notifyrules.GetRequest{TenantID: tenantB, ID: missing}}},
		notifyrules.SubjectReplace: {{notifyrules.ReplaceRequest{TenantID: tenantB, ID: f.ruleA.ID, Input: rule}, notifyrules.ReplaceRequest{TenantID: tenantB, ID: missing, Input: rule}}},
		notifyrules.SubjectDelete:  {{notifyrules.DeleteRequest{TenantID: tenantB, ID: f.ruleA.ID}, notifyrules.DeleteRequest{TenantID: tenantB, ID: missing}}},
		notifyrules.SubjectList:    {{notifyrules.ListRequest{TenantID: tenantB}, ""}},
		notifyrules.SubjectCreate:  {{notifyrules.CreateRequest{TenantID: tenantB, Input: ruleTo(f.hookA.ID)}, notifyrules.CreateRequest{TenantID: tenantB, Input: ruleTo(missing)}}},
		// B's deliveries of A's rule answer as those of a missing rule; a
		// preview renders B's own sample events, never A's data.
		notifyrules.SubjectDeliveries: {{notifyrules.DeliveriesRequest{TenantID: tenantB, ID: f.ruleA.ID}, notifyrules.DeliveriesRequest{TenantID: tenantB, ID: missing}}},
		notifyrules.SubjectPreview: {{notifyrules.PreviewRequest{TenantID: tenantB, Input: contracts.NotificationPreviewInput{
			EventTypes: []string{contracts.SubjectHealthChanged}, Template: contracts.NotificationTemplate{Title: "{{ .TenantID }} {{ .Type }}"}}}, nil}},
	}
	for _, rc := range f.refCases() {
		cases[catalog.SubjectCreate] = append(cases[catalog.SubjectCreate],
			pair{catalog.CreateRequest{TenantID: tenantB, Input: withRef(rc.ofA)}, catalog.CreateRequest{TenantID: tenantB, Input: withRef(rc.missing)}})
	}
	subjects := append(f.endpointsOf(t, catalog.ServiceName), f.endpointsOf(t, notifyrules.ServiceName)...)
	for _, subject := range subjects {
		if _, ok := cases[subject]; !ok {
			t.Errorf("endpoint %s is not tried by the cross-tenant suite: add a case", subject)
		}
	}
	if len(subjects) != len(cases) {
		t.Errorf("%d endpoints served, %d cases", len(subjects), len(cases))
	}
	before := f.snapshotA(t)
	for _, subject := range subjects {
		for i, p := range cases[subject] {
			t.Run(fmt.Sprintf("%s/%d", subject, i), func(t *testing.T) {
				got := f.request(t, subject, p.ofA)
				f.assertNoLeak(t, subject, got.body, nil, f.hookA.ID, f.ruleA.ID)
				switch want := p.missing.(type) {
				case nil:
				case string:
					var l struct{ Items []json.RawMessage }
					if got.status != "" || json.Unmarshal(got.body, &l) != nil || len(l.Items) != 0 {
						t.Fatalf("B's list: %s %s", got.status, got.body)
					}
				default:
					other := f.request(t, subject, want)
					a := f.normalise(0, got.body, f.hookA.ID, f.ruleA.ID)
					b := f.normalise(0, other.body, missing)
					if got.status == "" || got.status[0] != '4' || got.status != other.status || got.code != other.code || a != b {
						t.Fatalf("B on A's: %s %s %+v; on a missing one: %s %s %+v", got.status, got.code, a, other.status, other.code, b)
					}
					if strings.HasSuffix(subject, ".get") || strings.HasSuffix(subject, ".replace") || strings.HasSuffix(subject, ".patch") || strings.HasSuffix(subject, ".delete") {
						if got.status != "404" {
							t.Fatalf("B on A's %s: %s, want 404", subject, got.status)
						}
					}
				}
			})
		}
	}
	if after := f.snapshotA(t); after != before {
		t.Fatalf("A's resources changed:\nbefore %s\nafter  %s", before, after)
	}
}

// runOfA is a pipeline run of tenant A's: a trigger on A's webhook, which
// the runner refuses, so the run ends failed at once but exists.
func (f *crossFixture) runOfA(t *testing.T) string {
	t.Helper()
	r := f.s.call("POST", "/api/v1/integrations/"+f.hookA.ID+"/runs?wait=started", f.s.info.Token, map[string]any{"pipeline": "deploy"})
	if r.status != http.StatusOK {
		t.Fatalf("A's run: %d %s", r.status, r.body)
	}
	var run contracts.PipelineRun
	r.decode(&run)
	f.leaks = append(f.leaks, run.RunID)
	return run.RunID
}

// TestCrossTenantRunOfAnotherIntegration: B asking for A's run under B's
// own integration gets the very answer of a run that does not exist.
func TestCrossTenantRunOfAnotherIntegration(t *testing.T) {
	t.Parallel()
	f := startCrossTenant(t)
	runA := f.runOfA(t)
	r := f.s.call("POST", "/api/v1/integrations", tokenB, hookOf(f.rec.srv.URL+"/b", "", ""))
	if r.status != http.StatusCreated {
		t.Fatalf("B's integration: %d %s", r.status, r.body)
	}
	var hookB contracts.Integration
	r.decode(&hookB)
	for _, suffix := range []string{"", "/cancel"} {
		method := map[string]string{"": "GET", "/cancel": "POST"}[suffix]
		t.Run(method+suffix, func(t *testing.T) {
			var answers []answer
			for _, id := range []string{runA, uuid.NewString()} {
				resp := f.s.call(method, "/api/v1/integrations/"+hookB.ID+"/runs/"+id+suffix, tokenB, nil)
				f.assertNoLeak(t, "answer", resp.body, resp.header, id)
				answers = append(answers, f.normalise(resp.status, resp.body, id))
			}
			if answers[0].Status != http.StatusNotFound || answers[0] != answers[1] {
				t.Fatalf("B on A's run: %+v; on a missing one: %+v (want both the same 404)", answers[0], answers[1])
			}
		})
	}
	if page := f.s.call("GET", "/api/v1/integrations/"+hookB.ID+"/runs", tokenB, nil); page.status != http.StatusOK || strings.Contains(string(page.body), runA) {
		t.Fatalf("B's list: %d %s", page.status, page.body)
	}
}
