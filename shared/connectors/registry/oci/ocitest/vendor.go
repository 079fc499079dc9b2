package ocitest

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Connect builds spec's connector at url as the runtime does: its config
// is base with config added (config wins), its secret stored under envVar
// ("" none). It is closed with the test.
func Connect(t testing.TB, spec *connectors.Spec, url, envVar string, base, config map[string]any, secret string) connectors.Connector {
	t.Helper()
	cfg := maps.Clone(base)
	if cfg == nil {
		cfg = map[string]any{}
	}
	maps.Copy(cfg, config)
	return connectortest.NewConnector(t, connectortest.Setup{Spec: spec, URL: url, Config: cfg, EnvVar: envVar, Secret: secret})
}

// CallTimeout is how long one call of a vendor's test may take.
const CallTimeout = 30 * time.Second

// Context is the context of one call: it ends after CallTimeout or with
// the test.
func Context(t testing.TB) context.Context { return connectortest.Context(t, CallTimeout) }

// List discovers q to its last page (10 pages at the most), each page
// without error and none of secrets in an error text, and returns every
// resource in order.
func List(t testing.TB, d connectors.Discoverer, q connectors.DiscoveryQuery, secrets ...string) []contracts.Resource {
	t.Helper()
	var out []contracts.Resource
	for range 10 {
		page, err := d.Discover(Context(t), q)
		connectortest.CheckCode(t, err, "", secrets...)
		out = append(out, page.Items...)
		if q.Cursor = page.NextCursor; q.Cursor == "" {
			break
		}
	}
	return out
}

// ListNames is List's resource names.
func ListNames(t testing.TB, d connectors.Discoverer, q connectors.DiscoveryQuery, secrets ...string) []string {
	t.Helper()
	var out []string
	for _, r := range List(t, d, q, secrets...) {
		out = append(out, r.Name)
	}
	return out
}

// OneTag discovers the tags of repository (without error, none of secrets
// in an error text) and fails unless there is exactly one, with digest and,
// when id is not "", that id.
func OneTag(t testing.TB, d connectors.Discoverer, resourceType, repository, id, digest string, secrets ...string) {
	t.Helper()
	page, err := d.Discover(Context(t), connectors.DiscoveryQuery{ResourceType: resourceType, Filter: contracts.DiscoveryFilter{Repository: repository}})
	connectortest.CheckCode(t, err, "", secrets...)
	if len(page.Items) != 1 || (id != "" && page.Items[0].ID != id) || page.Items[0].Attributes["digest"] != digest {
		t.Fatalf("tags %+v, pushed digest %s", page.Items, digest)
	}
}

// Request is one request a fake test sends straight to the fake's handler.
type Request struct {
	Method string // "" GET
	Path   string
	// Auth is the Authorization header ("" none); User and Pass, when User
	// is set, are basic auth instead.
	Auth, User, Pass string
}

// CheckStatus sends req to h in a parallel subtest named name and fails
// unless h answers status want; then, on the answer, each of also.
func CheckStatus(t *testing.T, name string, h http.Handler, req Request, want int, also ...func(*testing.T, *httptest.ResponseRecorder)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		rec := Serve(h, req)
		if rec.Code != want {
			t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, want)
		}
		for _, f := range also {
			f(t, rec)
		}
	})
}

// Serve sends req to h and returns its answer.
func Serve(h http.Handler, req Request) *httptest.ResponseRecorder {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	r := httptest.NewRequest(method, req.Path, nil)
	if req.Auth != "" {
		r.Header.Set("Authorization", req.Auth)
	}
	if req.User != "" {
		r.SetBasicAuth(req.User, req.Pass)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}
