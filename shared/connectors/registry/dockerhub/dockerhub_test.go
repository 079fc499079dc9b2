package dockerhub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newConnector(t *testing.T, hub, registry string, config map[string]any, secret string) *Connector {
	t.Helper()
	return ocitest.Connect(t, Spec, hub, "DOCKERHUB_PAT", map[string]any{"namespace": namespace, "hubUrl": hub, "registryUrl": registry}, config, secret).(*Connector)
}

func ctxT(t *testing.T) context.Context { return ocitest.Context(t) }

// TestDockerHub covers what the conformance suite does not: the API and
// the registry on separate hosts (hubUrl, registryUrl), the listing paged
// to the end by its next links, tags with digests and creation times over
// the real registry API v2, Docker Hub's refusals, and its 429s — the API's
// with X-RateLimit-* and the registry's with ratelimit-* — as RATE_LIMITED
// with the delay for the retry strategy.
func TestDockerHub(t *testing.T) {
	t.Parallel()
	reg := ocitest.StartRegistry(t, registryUsers)
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	digests := reg.PushCreated(t, namespace+"/api", map[string]time.Time{"1.0.0": t0, "1.1.0": t0.Add(time.Hour), "2.0.0-rc.1": t0.Add(2 * time.Hour)})
	var many []fakeRepo
	for i := range 250 {
		many = append(many, fakeRepo{Name: fmt.Sprintf("r%03d", i), Private: i%2 == 0})
	}
	hub := newFakeHub(t, "http://127.0.0.1:9", many) // the API alone: its registry paths lead nowhere
	right := accountJSON(hubPAT)

	t.Run("repositories page to the end, private ones included", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, hub.srv.URL, reg.URL, nil, right)
		got := ocitest.ListNames(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 1000}, hubPAT)
		if !slices.Equal(got, fullNames(many)) {
			t.Fatalf("%d repositories, want %d", len(got), len(many))
		}
	})
	t.Run("tags with digests and creation times from the registry host", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, hub.srv.URL, reg.URL, map[string]any{"resolveDigests": true, "resolveCreated": true}, right)
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api", Semver: ">=1.0.0"}})
		connectortest.CheckCode(t, err, "", hubPAT)
		if len(page.Items) != 2 {
			t.Fatalf("tags %+v, want 1.0.0 and 1.1.0 (the constraint drops the pre-release)", page.Items)
		}
		for _, it := range page.Items {
			want := t0
			if it.Name == "1.1.0" {
				want = t0.Add(time.Hour)
			}
			if it.ID != namespace+"/api:"+it.Name || it.Attributes["digest"] != digests[it.Name] || !it.Attributes["created"].(time.Time).Equal(want) {
				t.Fatalf("tag %+v, pushed digest %s created %s", it, digests[it.Name], want)
			}
		}
	})
	t.Run("health levels on separate hosts", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, hub.srv.URL, reg.URL, nil, right)
		for name, check := range map[string]func(context.Context) error{
			"connectivity": c.CheckConnectivity, "authentication": c.CheckAuthentication, "functionality": c.CheckFunctionality,
		} {
			if err := check(ctxT(t)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
	refusals := []ocitest.Refusal{
		{Name: "unknown namespace", Config: map[string]any{"namespace": "nobody"}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
		{Name: "unknown namespace fails functionality", Config: map[string]any{"namespace": "nobody"}, Level: contracts.CheckFunctionality, Want: resilience.ResourceNotFound},
		{Name: "wrong token", Secret: accountJSON("dckr_pat_wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
		{Name: "wrong token on tags", Secret: accountJSON("dckr_pat_wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "api"}}, Want: resilience.AuthenticationFailed},
		{Name: "a cursor it did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, Want: resilience.InvalidConfig},
		{Name: "unknown repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, Want: resilience.ResourceNotFound},
		{Name: "tags without a repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags}, Want: resilience.InvalidConfig},
		{Name: "a token without a username", Secret: `{"token":"abc"}`, Check: true, Want: resilience.InvalidConfig},
	}
	ocitest.RunRefusals(t, refusals, right, func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
		return newConnector(t, hub.srv.URL, reg.URL, config, secret)
	}, hubPAT)
	t.Run("429s carry the delay", func(t *testing.T) {
		t.Parallel()
		throttled := newFakeHub(t, reg.URL, many)
		throttled.throttle(7)
		c := newConnector(t, throttled.srv.URL, throttled.srv.URL, nil, right)
		for name, call := range map[string]func() error{
			"api": func() error {
				_, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories})
				return err
			},
			"registry": func() error { return c.V2.Ping(ctxT(t)) },
		} {
			err := call()
			connectortest.CheckCode(t, err, resilience.RateLimited, hubPAT)
			var coded *resilience.Error
			if !errors.As(err, &coded) || coded.RetryAfter != 7*time.Second {
				t.Fatalf("%s: %v, want a retry after 7s", name, err)
			}
		}
	})
}

// TestFakeRefusesWhatDockerHubRefuses keeps the fake honest: a wrong PAT,
// a token it did not issue, a page below 1 or past the end and a page_size
// above 1000 are refused as Docker Hub refuses them; an anonymous caller
// sees the public repositories only.
func TestFakeRefusesWhatDockerHubRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeHub(t, "http://127.0.0.1:9", []fakeRepo{{Name: "public"}, {Name: "secret", Private: true}})
	login := func(identifier, secret string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v2/auth/token", strings.NewReader(`{"identifier":"`+identifier+`","secret":"`+secret+`"}`))
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		return rec
	}
	if rec := login(hubUser, "wrong"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("login with a wrong PAT: %d", rec.Code)
	}
	rec := login(hubUser, hubPAT)
	token := strings.Split(rec.Body.String(), `"`)[3]
	tests := []struct {
		name, ns, query, auth string
		want                  int
		body                  string
	}{
		{"anonymous sees public only", namespace, "page=1", "", http.StatusOK, `"count":1`},
		{"with the token sees all", namespace, "page=1", "Bearer " + token, http.StatusOK, `"count":2`},
		{"a token it did not issue", namespace, "page=1", "Bearer forged", http.StatusUnauthorized, ""},
		{"unknown namespace", "nobody", "page=1", "Bearer " + token, http.StatusNotFound, ""},
		{"page 0", namespace, "page=0", "Bearer " + token, http.StatusBadRequest, ""},
		{"page not a number", namespace, "page=x", "Bearer " + token, http.StatusBadRequest, ""},
		{"page_size 1001", namespace, "page_size=1001", "Bearer " + token, http.StatusBadRequest, ""},
		{"page past the end", namespace, "page=3&page_size=1", "Bearer " + token, http.StatusNotFound, ""},
		{"next link", namespace, "page=1&page_size=1", "Bearer " + token, http.StatusOK, `repositories?page=2\u0026page_size=1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/v2/namespaces/"+tc.ns+"/repositories?"+tc.query, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			f.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("status %d %s, want %d with %s", rec.Code, rec.Body, tc.want, tc.body)
			}
		})
	}
}
