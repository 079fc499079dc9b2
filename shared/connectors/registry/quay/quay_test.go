package quay

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
	cfg := map[string]any{"namespace": namespace}
	for k, v := range config {
		cfg[k] = v
	}
	return connectortest.NewConnector(t, connectortest.Setup{Spec: Spec, URL: url, Config: cfg, EnvVar: "QUAY_TOKEN", Secret: secret}).(*Connector)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
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
		var got []string
		q := connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 70}
		for range 10 {
			page, err := c.Discover(ctxT(t), q)
			connectortest.CheckCode(t, err, "", apiToken)
			for _, r := range page.Items {
				got = append(got, r.Name)
			}
			if q.Cursor = page.NextCursor; q.Cursor == "" {
				break
			}
		}
		if !slices.Equal(got, ocitest.Prefixed(namespace, many)) {
			t.Fatalf("%d repositories, want %d", len(got), len(many))
		}
	})
	t.Run("tags with digests", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, map[string]any{"resolveDigests": true}, right)
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}})
		connectortest.CheckCode(t, err, "", apiToken)
		if len(page.Items) != 1 || page.Items[0].Attributes["digest"] != digests["1.0.0"] {
			t.Fatalf("tags %+v, pushed digest %s", page.Items, digests["1.0.0"])
		}
	})
	refusals := []struct {
		name   string
		config map[string]any
		secret string
		q      connectors.DiscoveryQuery
		check  bool
		want   resilience.Code
	}{
		{name: "unknown namespace", config: map[string]any{"namespace": "nobody"}, q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, want: resilience.ResourceNotFound},
		{name: "wrong token", secret: tokenJSON("wrong"), q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, want: resilience.AuthenticationFailed},
		{name: "wrong token on tags", secret: tokenJSON("wrong"), q: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}}, want: resilience.AuthenticationFailed},
		{name: "a cursor it did not issue", q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, want: resilience.InvalidConfig},
		{name: "unknown repository", q: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, want: resilience.ResourceNotFound},
		{name: "tags without a repository", q: connectors.DiscoveryQuery{ResourceType: ResourceTags}, want: resilience.InvalidConfig},
		{name: "a username and password instead of a token", secret: `{"username":"u","password":"p"}`, check: true, want: resilience.InvalidConfig},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret := tc.secret
			if secret == "" {
				secret = right
			}
			c := newConnector(t, f.srv.URL, tc.config, secret)
			var err error
			if tc.check {
				err = c.CheckAuthentication(ctxT(t))
			} else {
				_, err = c.Discover(ctxT(t), tc.q)
			}
			connectortest.CheckCode(t, err, tc.want, apiToken)
		})
	}
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
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/api/v1/repository?"+tc.query, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			f.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tc.want)
			}
		})
	}
}
