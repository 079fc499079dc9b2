package dockerregistry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// TestNextPage: the next page drops n (each request sets its own) but is
// never empty, so a registry paginating by n alone still gets a cursor.
func TestNextPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		next url.Values
		want string
	}{
		{"last and n", url.Values{"last": {"team/app"}, "n": {"7"}}, "last=team%2Fapp"},
		{"n alone still continues", url.Values{"n": {"7"}}, "n="},
		{"a registry's own parameter", url.Values{"page": {"2"}}, "page=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := oci.NextPage(tc.next)
			if got != tc.want || !(kit.Position{Page: got}).Valid() {
				t.Fatalf("nextPage = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidRepository(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"app", true}, {"myorg/my-app", true}, {"a/b/c.d__e", true}, {"a--b", true},
		{"", false}, {"App", false}, {"../etc", false}, {"a//b", false}, {"a/", false},
		{"-a", false}, {"a?n=1", false}, {"a:tag", false}, {"a/%2e%2e", false},
	}
	for _, tc := range tests {
		if got := validRepository(tc.name); got != tc.ok {
			t.Errorf("validRepository(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestNewRefusesConfigsThatCannotWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
	}{
		{"no url", map[string]any{}},
		{"relative url", map[string]any{"url": "registry.example.com"}},
		{"ftp url", map[string]any{"url": "ftp://registry.example.com"}},
		{"user info", map[string]any{"url": "https://u:p@registry.example.com"}},
		{"query", map[string]any{"url": "https://registry.example.com/?x=1"}},
		{"bad default repository", map[string]any{"url": "https://registry.example.com", "repository": "My App"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.config}, HTTP: connectortest.HTTP(t, nil, nil)})
			if resilience.CodeOf(err) != resilience.InvalidConfig {
				t.Fatalf("New: %v, want INVALID_CONFIG", err)
			}
		})
	}
}

// TestRegistryBehindAPathPrefix: a registry served under /prefix/v2/ (a
// reverse proxy's path) is reached there for every call, the auth ping
// included, though go-containerregistry names registries by host alone.
func TestRegistryBehindAPathPrefix(t *testing.T) {
	t.Parallel()
	f, _ := newFakeRegistry(t, "")
	var outside atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/prefix/", http.StripPrefix("/prefix", f))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		outside.Add(1)
		writeError(w, http.StatusNotFound, "NOT_HERE")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, _ := newConnector(t, setup{url: srv.URL + "/prefix/", config: map[string]any{"resolveDigests": true}, secret: basicSecret(user, password)})
	checkCode(t, c.CheckConnectivity(ctxT(t)), "")
	checkCode(t, c.CheckAuthentication(ctxT(t)), "")
	got, err := discoverAll(t, c, connectors.DiscoveryQuery{ResourceType: ResourceTags, PageSize: 7, Filter: contracts.DiscoveryFilter{Repository: f.repo}})
	checkCode(t, err, "")
	if len(got.names) != len(f.tags) || got.resources[0].Attributes["digest"] != f.digests["t00"] {
		t.Fatalf("tags under the prefix: %v %+v", got.names, got.resources[0])
	}
	if n := outside.Load(); n != 0 {
		t.Fatalf("%d requests missed the prefix", n)
	}
}
