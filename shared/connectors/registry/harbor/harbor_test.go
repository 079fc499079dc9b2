package harbor

import (
	"context"
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
	return ocitest.Connect(t, Spec, url, "HARBOR_ROBOT", map[string]any{"project": project}, config, secret).(*Connector)
}

func ctxT(t *testing.T) context.Context { return ocitest.Context(t) }

// TestHarbor covers what the conformance suite does not: Harbor's refusals
// (unknown project, a robot of another project, a cursor it did not
// issue), tags with digests and creation times over the real registry API
// v2 behind the fake, and the 100-item page_size limit of the API.
func TestHarbor(t *testing.T) {
	t.Parallel()
	reg := ocitest.StartRegistry(t, registryUsers)
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	digests := reg.PushCreated(t, project+"/api", map[string]time.Time{"1.0.0": t0, "1.1.0": t0.Add(time.Hour), "2.0.0-rc.1": t0.Add(2 * time.Hour)})
	var many []string
	for i := range 250 {
		many = append(many, project+"/r"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	f := newFakeHarbor(t, reg.URL, many)
	right := robotSecretJSON(robotSecret)

	t.Run("repositories page to the end in pages of 100", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, nil, right)
		got := ocitest.ListNames(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 1000}, robotSecret)
		if !slices.Equal(got, many) {
			t.Fatalf("%d repositories, want %d", len(got), len(many))
		}
	})
	t.Run("tags with digests and creation times", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true, "resolveCreated": true}, right)
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api", Semver: ">=1.0.0"}})
		connectortest.CheckCode(t, err, "", robotSecret)
		if len(page.Items) != 2 {
			t.Fatalf("tags %+v, want 1.0.0 and 1.1.0 (the constraint drops the pre-release)", page.Items)
		}
		for _, it := range page.Items {
			want := t0
			if it.Name == "1.1.0" {
				want = t0.Add(time.Hour)
			}
			if it.ID != project+"/api:"+it.Name || it.Attributes["digest"] != digests[it.Name] || !it.Attributes["created"].(time.Time).Equal(want) {
				t.Fatalf("tag %+v, pushed digest %s created %s", it, digests[it.Name], want)
			}
		}
	})
	refusals := []ocitest.Refusal{
		{Name: "unknown project", Config: map[string]any{"project": "nope"}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
		{Name: "unknown project fails authentication", Config: map[string]any{"project": "nope"}, Check: true, Want: resilience.ResourceNotFound},
		{Name: "wrong secret", Secret: robotSecretJSON("wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
		{Name: "wrong secret on tags", Secret: robotSecretJSON("wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}}, Want: resilience.AuthenticationFailed},
		{Name: "a cursor it did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, Want: resilience.InvalidConfig},
		{Name: "unknown repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, Want: resilience.ResourceNotFound},
		{Name: "tags without a repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags}, Want: resilience.InvalidConfig},
		{Name: "a token instead of a robot account", Secret: `{"token":"abc"}`, Check: true, Want: resilience.InvalidConfig},
	}
	ocitest.RunRefusals(t, refusals, right, func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
		return newConnector(t, f.srv.URL, config, secret)
	}, robotSecret)
}

// TestFakeRefusesWhatHarborRefuses keeps the fake honest: missing auth,
// a page below 1 and a page_size above 100 are refused as Harbor does.
func TestFakeRefusesWhatHarborRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeHarbor(t, "http://127.0.0.1:9", []string{project + "/a"})
	tests := []struct {
		name, query string
		auth        bool
		want        int
	}{
		{"no auth", "page=1&page_size=10", false, http.StatusUnauthorized},
		{"page 0", "page=0&page_size=10", true, http.StatusBadRequest},
		{"page not a number", "page=x", true, http.StatusBadRequest},
		{"page_size 101", "page=1&page_size=101", true, http.StatusBadRequest},
		{"fine", "page=1&page_size=100", true, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/api/v2.0/projects/"+project+"/repositories?"+tc.query, nil)
			if tc.auth {
				req.SetBasicAuth(robotName, robotSecret)
			}
			rec := httptest.NewRecorder()
			f.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}
