package jfrog

import (
	"context"
	"fmt"
	"net/http"
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
	return ocitest.Connect(t, Spec, url, "JFROG_TOKEN", map[string]any{"repository": repoKey, "username": username}, config, secret).(*Connector)
}

func ctxT(t *testing.T) context.Context { return ocitest.Context(t) }

// TestJFrog covers what the conformance suite does not: the catalog paged
// to the end by n and last (including a last page exactly full), tags with
// digests over the real registry API v2 by both access methods, and
// Artifactory's refusals.
func TestJFrog(t *testing.T) {
	t.Parallel()
	reg := ocitest.StartRegistry(t, registryUsers)
	created := map[string]time.Time{"1.0.0": time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	digests := reg.PushCreated(t, repoKey+"/api", created)
	subDigests := reg.PushCreated(t, "web", created) // what {repoKey}.HOST/v2/web serves
	for _, n := range []int{250, 200} {
		var many []string
		for i := range n {
			many = append(many, fmt.Sprintf("r%03d", i))
		}
		f := newFakeArtifactory(t, reg.URL, many)
		t.Run(fmt.Sprintf("%d images page to the end", n), func(t *testing.T) {
			t.Parallel()
			c := newConnector(t, f.srv.URL, nil, tokenJSON(accessToken))
			got := ocitest.ListNames(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 70}, accessToken)
			if !slices.Equal(got, ocitest.Prefixed(repoKey, many)) {
				t.Fatalf("%d images, want %d", len(got), len(many))
			}
		})
	}
	f := newFakeArtifactory(t, reg.URL, []string{"api"})
	right := tokenJSON(accessToken)
	t.Run("tags with digests by repository path", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true}, right)
		ocitest.OneTag(t, c, ResourceTags, "api", repoKey+"/api:1.0.0", digests["1.0.0"], accessToken)
	})
	t.Run("tags by subdomain", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true, "dockerAccess": "subdomain", "registryUrl": reg.URL}, right)
		ocitest.OneTag(t, c, ResourceTags, "web", "web:1.0.0", subDigests["1.0.0"], accessToken)
		repos, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories})
		connectortest.CheckCode(t, err, "", accessToken)
		if len(repos.Items) != 1 || repos.Items[0].Name != "api" {
			t.Fatalf("images %+v, want api without the repository key", repos.Items)
		}
	})
	refusals := []ocitest.Refusal{
		{Name: "unknown repository key", Config: map[string]any{"repository": "nope-local"}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
		{Name: "wrong token", Secret: tokenJSON("wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
		{Name: "wrong token on tags", Secret: tokenJSON("wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}}, Want: resilience.AuthenticationFailed},
		{Name: "wrong username on the registry", Config: map[string]any{"username": "someone"}, Check: true, Want: resilience.AuthenticationFailed},
		{Name: "a cursor it did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, Want: resilience.InvalidConfig},
		{Name: "unknown image", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, Want: resilience.ResourceNotFound},
		{Name: "tags without a repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags}, Want: resilience.InvalidConfig},
		{Name: "a username and password instead of a token", Secret: `{"username":"u","password":"p"}`, Check: true, Want: resilience.InvalidConfig},
	}
	ocitest.RunRefusals(t, refusals, right, func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
		return newConnector(t, f.srv.URL, config, secret)
	}, accessToken)
}

// TestFakeRefusesWhatArtifactoryRefuses keeps the fake honest: missing or
// wrong token, a bad n and an unknown repository key are refused as
// Artifactory refuses them.
func TestFakeRefusesWhatArtifactoryRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeArtifactory(t, "http://127.0.0.1:9", []string{"a", "b"})
	catalog := "/artifactory/api/docker/" + repoKey + "/v2/_catalog"
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"no auth", catalog, "", http.StatusUnauthorized},
		{"wrong token", catalog, "Bearer wrong", http.StatusUnauthorized},
		{"n not a number", catalog + "?n=x", "Bearer " + accessToken, http.StatusBadRequest},
		{"n zero", catalog + "?n=0", "Bearer " + accessToken, http.StatusBadRequest},
		{"unknown repository key", "/artifactory/api/docker/nope/v2/_catalog", "Bearer " + accessToken, http.StatusNotFound},
		{"a page after last", catalog + "?n=1&last=a", "Bearer " + accessToken, http.StatusOK},
		{"ping without auth", "/artifactory/api/system/ping", "", http.StatusOK},
	}
	for _, tc := range tests {
		ocitest.CheckStatus(t, tc.name, f.srv.Config.Handler, ocitest.Request{Path: tc.path, Auth: tc.auth}, tc.want)
	}
}
