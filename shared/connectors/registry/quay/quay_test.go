package quay

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newConnector(t *testing.T, url string, config map[string]any, secret string) *Connector {
	t.Helper()
	return ocitest.Connect(t, Spec, url, "QUAY_TOKEN", map[string]any{"namespace": namespace}, config, secret).(*Connector)
}

// TestQuay covers what the conformance suite does not: the listing paged
// to the end by next_page tokens in Quay's own page size, tags with
// digests over the real registry API v2, and Quay's refusals.
func TestQuay(t *testing.T) {
	t.Parallel()
	reg := ocitest.StartRegistry(t, registryUsers)
	digests := reg.PushCreated(t, namespace+"/api", map[string]time.Time{"1.0.0": time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	var many []string
	for i := range 250 {
		many = append(many, fmt.Sprintf("r%03d", i))
	}
	f := newFakeQuay(t, reg.URL, many, 100)
	right := tokenJSON(apiToken)

	t.Run("repositories page to the end", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, nil, right)
		got := ocitest.ListNames(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 70}, apiToken)
		if !slices.Equal(got, ocitest.Prefixed(namespace, many)) {
			t.Fatalf("%d repositories, want %d", len(got), len(many))
		}
	})
	t.Run("tags with digests", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true}, right)
		ocitest.OneTag(t, c, ResourceTags, "api", "", digests["1.0.0"], apiToken)
	})
	refusals := []ocitest.Refusal{
		{Name: "unknown namespace", Config: map[string]any{"namespace": "nobody"}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
		{Name: "wrong token", Secret: tokenJSON("wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
		{Name: "wrong token on tags", Secret: tokenJSON("wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}}, Want: resilience.AuthenticationFailed},
		{Name: "a cursor it did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, Want: resilience.InvalidConfig},
		{Name: "unknown repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, Want: resilience.ResourceNotFound},
		{Name: "tags without a repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags}, Want: resilience.InvalidConfig},
		{Name: "a username and password instead of a token", Secret: `{"username":"u","password":"p"}`, Check: true, Want: resilience.InvalidConfig},
	}
	ocitest.RunRefusals(t, refusals, right, func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
		return newConnector(t, f.srv.URL, config, secret)
	}, apiToken)
}

// TestFakeRefusesWhatQuayRefuses keeps the fake honest: missing or wrong
// token, a page token it did not issue and an unknown namespace are
// refused as Quay refuses them.
func TestFakeRefusesWhatQuayRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeQuay(t, "http://127.0.0.1:9", []string{"a", "b"}, 1)
	tests := []struct {
		name, query, auth string
		want              int
	}{
		{"no auth", "namespace=" + namespace, "", http.StatusUnauthorized},
		{"wrong token", "namespace=" + namespace, "Bearer wrong", http.StatusUnauthorized},
		{"no namespace, public or starred", "", "Bearer " + apiToken, http.StatusBadRequest},
		{"unknown namespace", "namespace=nobody", "Bearer " + apiToken, http.StatusNotFound},
		{"made-up page token", "namespace=" + namespace + "&next_page=2", "Bearer " + apiToken, http.StatusBadRequest},
		{"page token past the end", "namespace=" + namespace + "&next_page=" + pageToken(5), "Bearer " + apiToken, http.StatusBadRequest},
		{"issued page token", "namespace=" + namespace + "&next_page=" + pageToken(1), "Bearer " + apiToken, http.StatusOK},
	}
	for _, tc := range tests {
		ocitest.CheckStatus(t, tc.name, f.srv.Config.Handler, ocitest.Request{Path: "/api/v1/repository?" + tc.query, Auth: tc.auth}, tc.want)
	}
}
