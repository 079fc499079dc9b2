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
	cfg := map[string]any{"repository": repoName}
	for k, v := range config {
		cfg[k] = v
	}
	return connectortest.NewConnector(t, connectortest.Setup{Spec: Spec, URL: url, Config: cfg, EnvVar: "NEXUS_CRED", Secret: secret}).(*Connector)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

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
		q := connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 70}
		for range 10 {
			page, err := c.Discover(ctxT(t), q)
			connectortest.CheckCode(t, err, "", password)
			for _, r := range page.Items {
				got = append(got, r.Name)
				if r.Attributes["versions"] != 3 {
					t.Fatalf("%s: versions %v, want 3", r.Name, r.Attributes["versions"])
				}
			}
			if q.Cursor = page.NextCursor; q.Cursor == "" {
				break
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
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}})
		connectortest.CheckCode(t, err, "", password)
		if len(page.Items) != 1 || page.Items[0].ID != repoName+"/api:1.0.0" || page.Items[0].Attributes["digest"] != digests["1.0.0"] {
			t.Fatalf("tags %+v, pushed digest %s", page.Items, digests["1.0.0"])
		}
	})
	t.Run("tags by a connector", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true, "routing": "connector", "registryUrl": reg.URL}, right)
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "web"}})
		connectortest.CheckCode(t, err, "", password)
		if len(page.Items) != 1 || page.Items[0].ID != "web:1.0.0" || page.Items[0].Attributes["digest"] != connDigests["1.0.0"] {
			t.Fatalf("tags %+v, pushed digest %s", page.Items, connDigests["1.0.0"])
		}
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
	refusals := []struct {
		name   string
		url    string
		config map[string]any
		secret string
		q      connectors.DiscoveryQuery
		check  func(*Connector, context.Context) error
		want   resilience.Code
	}{
		{name: "unknown repository", config: map[string]any{"repository": "nope-hosted"}, q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, want: resilience.ResourceNotFound},
		{name: "wrong password", secret: basicJSON(username, "wrong"), q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, want: resilience.AuthenticationFailed},
		{name: "wrong password on tags", secret: basicJSON(username, "wrong"), q: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}}, want: resilience.AuthenticationFailed},
		{name: "wrong user on the registry", secret: basicJSON("someone", password), check: (*Connector).CheckAuthentication, want: resilience.AuthenticationFailed},
		{name: "wrong password on the functionality check", secret: basicJSON(username, "wrong"), check: (*Connector).CheckFunctionality, want: resilience.AuthenticationFailed},
		{name: "a cursor it did not issue", q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, want: resilience.InvalidConfig},
		{name: "unknown image", q: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, want: resilience.ResourceNotFound},
		{name: "tags without a repository", q: connectors.DiscoveryQuery{ResourceType: ResourceTags}, want: resilience.InvalidConfig},
		{name: "a token instead of a username and password", secret: `{"token":"t"}`, check: (*Connector).CheckAuthentication, want: resilience.InvalidConfig},
		{name: "a repository of another format", url: maven.URL, q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, want: resilience.InvalidConfig},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret, base := tc.secret, tc.url
			if secret == "" {
				secret = right
			}
			if base == "" {
				base = f.srv.URL
			}
			c := newConnector(t, base, tc.config, secret)
			var err error
			if tc.check != nil {
				err = tc.check(c, ctxT(t))
			} else {
				_, err = c.Discover(ctxT(t), tc.q)
			}
			connectortest.CheckCode(t, err, tc.want, password)
		})
	}
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
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			rec := httptest.NewRecorder()
			f.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tc.want)
			}
		})
	}
	t.Run("first page holds 10 components and a token", func(t *testing.T) {
		t.Parallel()
		req := httptest.NewRequest(http.MethodGet, list, nil)
		req.SetBasicAuth(username, password)
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		var body struct {
			Items             []component `json:"items"`
			ContinuationToken *string     `json:"continuationToken"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Items) != pageSize || body.ContinuationToken == nil {
			t.Fatalf("page %s (%v): want %d items and a continuation token", rec.Body, err, pageSize)
		}
	})
}
