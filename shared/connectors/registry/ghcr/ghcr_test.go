package ghcr

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newConnector(t *testing.T, url string, config map[string]any, secret string) *Connector {
	t.Helper()
	return ocitest.Connect(t, Spec, url, "GHCR_TOKEN", map[string]any{"owner": org, "apiUrl": url, "registryUrl": url}, config, secret).(*Connector)
}

func ctxT(t *testing.T) context.Context { return ocitest.Context(t) }

// TestGHCR covers what the conformance suite does not: the listing paged
// to the end by GitHub's Link header at per_page=100, a user's packages,
// tags with digests over the real registry API v2, GitHub's primary rate
// limit (403 with x-ratelimit-remaining 0) and its refusals.
func TestGHCR(t *testing.T) {
	t.Parallel()
	reg := ocitest.StartRegistry(t, registryUsers)
	digests := reg.PushCreated(t, namespace+"/api", map[string]time.Time{"1.0.0": time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	var many []string
	for i := range 250 {
		many = append(many, fmt.Sprintf("r%03d", i))
	}
	f := newFakeGitHub(t, reg.URL, many)
	right := tokenJSON(pat)

	list := func(t *testing.T, c *Connector, size int) []string {
		t.Helper()
		return ocitest.ListNames(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: size}, pat)
	}
	t.Run("repositories page to the end", func(t *testing.T) {
		t.Parallel()
		if got := list(t, newConnector(t, f.srv.URL, nil, right), 70); !slices.Equal(got, ocitest.Prefixed(namespace, many)) {
			t.Fatalf("%d repositories, want %d", len(got), len(many))
		}
	})
	t.Run("a user's packages", func(t *testing.T) {
		t.Parallel()
		got := list(t, newConnector(t, f.srv.URL, map[string]any{"owner": user, "ownerType": "user"}, right), 1000)
		if len(got) != len(many) || got[0] != user+"/r000" {
			t.Fatalf("%d repositories starting %v, want %d under %s/", len(got), got[:min(1, len(got))], len(many), user)
		}
	})
	t.Run("tags with digests", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true}, right)
		ocitest.OneTag(t, c, ResourceTags, "api", namespace+"/api:1.0.0", digests["1.0.0"], pat)
	})
	refusals := []ocitest.Refusal{
		{Name: "unknown organization", Config: map[string]any{"owner": "nobody"}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
		{Name: "an organization configured as a user", Config: map[string]any{"ownerType": "user"}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
		{Name: "wrong token", Secret: tokenJSON("ghp_wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
		{Name: "wrong token on tags", Secret: tokenJSON("ghp_wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}}, Want: resilience.AuthenticationFailed},
		{Name: "a cursor it did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, Want: resilience.InvalidConfig},
		{Name: "unknown repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, Want: resilience.ResourceNotFound},
		{Name: "tags without a repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags}, Want: resilience.InvalidConfig},
		{Name: "a username and password instead of a token", Secret: `{"username":"u","password":"p"}`, Check: true, Want: resilience.InvalidConfig},
	}
	ocitest.RunRefusals(t, refusals, right, func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
		return newConnector(t, f.srv.URL, config, secret)
	}, pat)
}

// TestPrimaryRateLimit: GitHub's exhausted quota is a 403 with
// x-ratelimit-remaining 0, which waits until x-ratelimit-reset rather than
// failing as a permission error.
func TestPrimaryRateLimit(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "http://127.0.0.1:9", []string{"a"})
	f.Exhausted.Store(true)
	c := newConnector(t, f.srv.URL, nil, tokenJSON(pat))
	_, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories})
	connectortest.CheckCode(t, err, resilience.RateLimited, pat)
	if d := resilience.RetryAfterOf(err); d < 60*time.Second || d > 91*time.Second {
		t.Fatalf("retry after %s, want the ~90 s to x-ratelimit-reset", d)
	}
}

// TestFakeRefusesWhatGitHubRefuses keeps the fake honest: missing or wrong
// token, a missing package_type, bad or too deep pages and an unknown
// owner are refused as GitHub refuses them.
func TestFakeRefusesWhatGitHubRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "http://127.0.0.1:9", []string{"a", "b"})
	orgPath := "/orgs/" + org + "/packages?package_type=container"
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"no auth", orgPath, "", http.StatusUnauthorized},
		{"wrong token", orgPath, "Bearer ghp_wrong", http.StatusUnauthorized},
		{"token scheme", orgPath, "token " + pat, http.StatusOK},
		{"no package_type", "/orgs/" + org + "/packages", "Bearer " + pat, http.StatusUnprocessableEntity},
		{"unknown package_type", "/orgs/" + org + "/packages?package_type=oci", "Bearer " + pat, http.StatusUnprocessableEntity},
		{"per_page not an integer", orgPath + "&per_page=x", "Bearer " + pat, http.StatusUnprocessableEntity},
		{"page not an integer", orgPath + "&page=two", "Bearer " + pat, http.StatusUnprocessableEntity},
		{"past 10000 items", orgPath + "&per_page=100&page=101", "Bearer " + pat, http.StatusBadRequest},
		{"unknown organization", "/orgs/nobody/packages?package_type=container", "Bearer " + pat, http.StatusNotFound},
		{"a user under /orgs", "/orgs/" + user + "/packages?package_type=container", "Bearer " + pat, http.StatusNotFound},
		{"owner names ignore case", "/orgs/stella-ops/packages?package_type=container", "Bearer " + pat, http.StatusOK},
	}
	for _, tc := range tests {
		ocitest.CheckStatus(t, tc.name, f.srv.Config.Handler, ocitest.Request{Path: tc.path, Auth: tc.auth}, tc.want,
			func(t *testing.T, rec *httptest.ResponseRecorder) {
				if rec.Header().Get("X-RateLimit-Remaining") == "" {
					t.Fatal("no x-ratelimit-remaining header")
				}
			})
	}
}
