package gcr

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newConnector(t *testing.T, base string, config map[string]any, secret string) *Connector {
	t.Helper()
	cfg := map[string]any{"project": project, "location": location, "repository": repository,
		"registryUrl": base, "tokenUrl": base + "/token"}
	for k, v := range config {
		cfg[k] = v
	}
	return connectortest.NewConnector(t, connectortest.Setup{Spec: Spec, URL: base, Config: cfg, EnvVar: "GCR_KEY", Secret: secret}).(*Connector)
}

func ctxT(t *testing.T) context.Context { return ocitest.Context(t) }

// TestGCR covers what the conformance suite does not: packages paged to
// the end by pageToken, image paths with slashes, tags with digests over
// the real registry API v2 with the access token, and Google's refusals.
func TestGCR(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	digests := reg.PushCreated(t, v2("team/api"), map[string]time.Time{"1.0.0": time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	var many []string
	for i := range 2500 {
		many = append(many, fmt.Sprintf("team/r%04d", i))
	}
	f := newFakeGAR(t, reg.URL, many)
	right := f.issuer.AddAccount(t, email, project)
	other := newFakeGAR(t, reg.URL, nil).issuer.AddAccount(t, email, project) // same email, another key

	t.Run("images page to the end", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, nil, right)
		got := ocitest.ListNames(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 700}, accessToken)
		if !slices.Equal(got, many) {
			t.Fatalf("%d images, want %d", len(got), len(many))
		}
	})
	t.Run("tags with digests", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true}, right)
		ocitest.OneTag(t, c, ResourceTags, "team/api", "", digests["1.0.0"], accessToken)
	})
	t.Run("a throttled API is RATE_LIMITED", func(t *testing.T) {
		t.Parallel()
		g := newFakeGAR(t, reg.URL, many)
		g.Throttled.Store(true)
		c := newConnector(t, g.srv.URL, nil, g.issuer.AddAccount(t, email, project))
		_, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories})
		connectortest.CheckCode(t, err, resilience.RateLimited, accessToken)
	})
	refusals := []ocitest.Refusal{
		{Name: "unknown repository", Config: map[string]any{"repository": "nope"}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
		{Name: "a key the endpoint does not know", Secret: other, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
		{Name: "a key the endpoint does not know, on tags", Secret: other, Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "team/api"}}, Want: resilience.AuthenticationFailed},
		{Name: "a pageToken Google did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: kit.EncodeCursor(kit.Position{Page: "forged"})}, Want: resilience.InvalidConfig},
		{Name: "a cursor it did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, Want: resilience.InvalidConfig},
		{Name: "unknown image", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, Want: resilience.ResourceNotFound},
		{Name: "tags without an image", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags}, Want: resilience.InvalidConfig},
		{Name: "a username and password instead of a key", Secret: `{"username":"u","password":"p"}`, Check: true, Want: resilience.InvalidConfig},
	}
	ocitest.RunRefusals(t, refusals, right, func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
		return newConnector(t, f.srv.URL, config, secret)
	}, accessToken)
}

// TestFakeRefusesWhatArtifactRegistryRefuses keeps the fake honest:
// missing or unknown token, a page token it did not issue and an unknown
// repository are refused as the API refuses them.
func TestFakeRefusesWhatArtifactRegistryRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeGAR(t, "http://127.0.0.1:9", []string{"a", "b"})
	f.issuer.AddAccount(t, email, project)
	// An issued token, as the fake's token endpoint records it.
	c := newConnector(t, f.srv.URL, nil, f.issuer.AddAccount(t, "second@"+project+".iam.gserviceaccount.com", project))
	if _, err := c.tokens.Token(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	list := "/v1/projects/" + project + "/locations/" + location + "/repositories/" + repository + "/packages"
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"no auth", list, "", http.StatusUnauthorized},
		{"a token it did not issue", list, "Bearer ya29.made-up", http.StatusUnauthorized},
		{"unknown repository", "/v1/projects/" + project + "/locations/" + location + "/repositories/nope/packages", "Bearer " + accessToken, http.StatusNotFound},
		{"made-up page token", list + "?pageToken=2", "Bearer " + accessToken, http.StatusBadRequest},
		{"page token past the end", list + "?pageToken=" + pageToken(5), "Bearer " + accessToken, http.StatusBadRequest},
		{"issued page token", list + "?pageSize=1&pageToken=" + pageToken(1), "Bearer " + accessToken, http.StatusOK},
	}
	for _, tc := range tests {
		ocitest.CheckStatus(t, tc.name, f.srv.Config.Handler, ocitest.Request{Path: tc.path, Auth: tc.auth}, tc.want)
	}
}
