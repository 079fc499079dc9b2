package nexus

import (
	"context"
	"encoding/json"
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
	return ocitest.Connect(t, Spec, url, "NEXUS_CRED", map[string]any{"repository": repoName}, config, secret).(*Connector)
}

func ctxT(t *testing.T) context.Context { return ocitest.Context(t) }

// TestNexus covers what the conformance suite does not: many components
// paged to the end by continuation tokens, each image once though it has a
// component per version on many pages, tags with digests over the real
// registry API v2 by path-based routing and by a connector, and Nexus's
// refusals.
func TestNexus(t *testing.T) {
	t.Parallel()
	reg := ocitest.StartRegistry(t, registryUsers)
	created := map[string]time.Time{"1.0.0": time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	digests := reg.PushCreated(t, repoName+"/api", created)
	connDigests := reg.PushCreated(t, "web", created) // what a port connector's /v2/web serves
	right := basicJSON(username, password)
	var many []string
	for i := range 250 {
		many = append(many, fmt.Sprintf("r%03d", i))
	}
	// 250 images in 3 versions: 750 components, 75 Nexus pages.
	big := newFakeNexus(t, reg.URL, versions(many, "1.0.0", "1.1.0", "2.0.0"))
	t.Run("components page to the end, each image once", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, big.srv.URL, nil, right)
		var got []string
		for _, r := range ocitest.List(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 70}, password) {
			got = append(got, r.Name)
			if r.Attributes["versions"] != 3 {
				t.Fatalf("%s: versions %v, want 3", r.Name, r.Attributes["versions"])
			}
		}
		if !slices.Equal(got, ocitest.Prefixed(repoName, many)) {
			t.Fatalf("%d images, want %d", len(got), len(many))
		}
	})
	f := newFakeNexus(t, reg.URL, versions([]string{"api"}, "1.0.0"))
	t.Run("tags with digests by path-based routing", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true}, right)
		ocitest.OneTag(t, c, ResourceTags, "api", repoName+"/api:1.0.0", digests["1.0.0"], password)
	})
	t.Run("tags by a connector", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true, "routing": "connector", "registryUrl": reg.URL}, right)
		ocitest.OneTag(t, c, ResourceTags, "web", "web:1.0.0", connDigests["1.0.0"], password)
		repos, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories})
		connectortest.CheckCode(t, err, "", password)
		if len(repos.Items) != 1 || repos.Items[0].Name != "api" {
			t.Fatalf("images %+v, want api without the repository name", repos.Items)
		}
	})
	// A maven repository answers the same API with components of its format.
	maven := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[{"id":"1","repository":"docker-hosted","format":"maven2","group":"org.acme","name":"app","version":"1.0"}],"continuationToken":null}`))
	}))
	t.Cleanup(maven.Close)
	refusals := []ocitest.Refusal{
		{Name: "unknown repository", Config: map[string]any{"repository": "nope-hosted"}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
		{Name: "wrong password", Secret: basicJSON(username, "wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
		{Name: "wrong password on tags", Secret: basicJSON(username, "wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}}, Want: resilience.AuthenticationFailed},
		{Name: "wrong user on the registry", Secret: basicJSON("someone", password), Check: true, Want: resilience.AuthenticationFailed},
		{Name: "wrong password on the functionality check", Secret: basicJSON(username, "wrong"), Level: contracts.CheckFunctionality, Want: resilience.AuthenticationFailed},
		{Name: "a cursor it did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, Want: resilience.InvalidConfig},
		{Name: "unknown image", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, Want: resilience.ResourceNotFound},
		{Name: "tags without a repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags}, Want: resilience.InvalidConfig},
		{Name: "a token instead of a username and password", Secret: `{"token":"t"}`, Check: true, Want: resilience.InvalidConfig},
		{Name: "a repository of another format", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.InvalidConfig,
			Build: func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
				return newConnector(t, maven.URL, config, secret)
			}},
	}
	ocitest.RunRefusals(t, refusals, right, func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
		return newConnector(t, f.srv.URL, config, secret)
	}, password)
}

// TestFakeRefusesWhatNexusRefuses keeps the fake honest: missing or wrong
// basic auth, an unknown or missing repository and a continuation token it
// did not issue are refused as Nexus refuses them; status needs no auth,
// status/check does; pages hold 10 components.
func TestFakeRefusesWhatNexusRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeNexus(t, "http://127.0.0.1:9", versions([]string{"a", "b", "c", "d", "e", "f"}, "1", "2"))
	list := "/service/rest/v1/components?repository=" + repoName
	issued := f.token(pageSize)
	tests := []struct {
		name, path string
		user, pass string
		want       int
	}{
		{"no auth", list, "", "", http.StatusUnauthorized},
		{"wrong password", list, username, "wrong", http.StatusUnauthorized},
		{"unknown repository", "/service/rest/v1/components?repository=nope", username, password, http.StatusNotFound},
		{"no repository", "/service/rest/v1/components", username, password, http.StatusNotFound},
		{"made-up continuation token", list + "&continuationToken=deadbeef", username, password, http.StatusNotFound},
		{"issued continuation token", list + "&continuationToken=" + issued, username, password, http.StatusOK},
		{"status without auth", "/service/rest/v1/status", "", "", http.StatusOK},
		{"status check without auth", "/service/rest/v1/status/check", "", "", http.StatusUnauthorized},
		{"status check with auth", "/service/rest/v1/status/check", username, password, http.StatusOK},
	}
	for _, tc := range tests {
		ocitest.CheckStatus(t, tc.name, f.srv.Config.Handler, ocitest.Request{Path: tc.path, User: tc.user, Pass: tc.pass}, tc.want)
	}
	t.Run("first page holds 10 components and a token", func(t *testing.T) {
		t.Parallel()
		rec := ocitest.Serve(f.srv.Config.Handler, ocitest.Request{Path: list, User: username, Pass: password})
		var body struct {
			Items             []component `json:"items"`
			ContinuationToken *string     `json:"continuationToken"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Items) != pageSize || body.ContinuationToken == nil {
			t.Fatalf("page %s (%v): want %d items and a continuation token", rec.Body, err, pageSize)
		}
	})
}
