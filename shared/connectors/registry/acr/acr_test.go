package acr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/azauth/entrafake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newConnector(t *testing.T, url string, config map[string]any, secret string) *Connector {
	t.Helper()
	return ocitest.Connect(t, Spec, url, "ACR_CRED", nil, config, secret).(*Connector)
}

func ctxT(t *testing.T) context.Context { return ocitest.Context(t) }

// startEntra runs the fake Entra ID on its own TLS server (authorityHost
// must be https) with the test's application.
func startEntra(t *testing.T) (*entrafake.Entra, string) {
	var srv *httptest.Server
	e := entrafake.New(tenant, func() string { return srv.URL }, "https://containerregistry.azure.net")
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.Serve(w, r) {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	e.AddClient(clientID, clientSecret)
	return e, srv.URL
}

func secretJSON(s string) string {
	b, _ := json.Marshal(map[string]string{"clientSecret": s})
	return string(b)
}

// TestACR covers what the conformance suite does not: the Entra ID sign-in
// (Entra token -> /oauth2/exchange -> refresh token -> /oauth2/token for the
// catalog, and the refresh token on the real registry for tags), the
// catalog paged to the end by its Link header, and ACR's refusals.
func TestACR(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	digests := reg.PushCreated(t, "team/api", map[string]time.Time{"1.0.0": time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	var many []string
	for i := range 2500 {
		many = append(many, fmt.Sprintf("team/r%04d", i))
	}
	entra, authority := startEntra(t)
	f := newFakeACR(t, reg.URL, many, entra)
	aad := map[string]any{"authMethod": AuthClientSecret, "tenantId": tenant, "clientId": clientID,
		"authorityHost": authority + "/", "insecureSkipVerify": true}
	right := secretJSON(clientSecret)

	t.Run("catalog pages to the end with an Entra application", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, aad, right)
		got := ocitest.ListNames(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 700}, clientSecret)
		if !slices.Equal(got, many) {
			t.Fatalf("%d repositories, want %d", len(got), len(many))
		}
	})
	t.Run("tags with digests with the refresh token", func(t *testing.T) {
		t.Parallel()
		cfg := map[string]any{"resolveDigests": true}
		for k, v := range aad {
			cfg[k] = v
		}
		c := newConnector(t, f.srv.URL, cfg, right)
		ocitest.OneTag(t, c, ResourceTags, "team/api", "", digests["1.0.0"], clientSecret)
		for name, check := range map[string]func(context.Context) error{"authentication": c.CheckAuthentication, "functionality": c.CheckFunctionality} {
			if err := check(ctxT(t)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
	withAAD := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range aad {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	refusals := []struct {
		name   string
		config map[string]any
		secret string
		q      connectors.DiscoveryQuery
		check  bool
		want   resilience.Code
	}{
		{name: "wrong client secret", config: aad, secret: secretJSON("wrong"), check: true, want: resilience.AuthenticationFailed},
		{name: "a tenant the registry does not trust", config: withAAD(map[string]any{"tenantId": "0f1e2d3c-aaaa-bbbb-cccc-0000000000ff"}), check: true, want: resilience.AuthenticationFailed},
		{name: "wrong admin password", secret: basicJSON(adminUser, "wrong"), q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, want: resilience.AuthenticationFailed},
		{name: "wrong admin password on tags", secret: basicJSON(adminUser, "wrong"), q: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "team/api"}}, want: resilience.AuthenticationFailed},
		{name: "a cursor it did not issue", config: aad, q: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, want: resilience.InvalidConfig},
		{name: "unknown repository", config: aad, q: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "nope"}}, want: resilience.ResourceNotFound},
		{name: "tags without a repository", config: aad, q: connectors.DiscoveryQuery{ResourceType: ResourceTags}, want: resilience.InvalidConfig},
		{name: "clientSecret without tenant", config: map[string]any{"url": "https://example.azurecr.io", "authMethod": AuthClientSecret, "clientId": clientID}, check: true, want: resilience.InvalidConfig},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret := tc.secret
			if secret == "" {
				secret = right
			}
			if tc.config["tenantId"] == nil && tc.config["authMethod"] == AuthClientSecret {
				// Refused when built: the declaration allows it, New does not.
				_, err := New(ctxT(t), connectors.Instance{Integration: contracts.Integration{TypeID: ProviderID, Config: tc.config, CredentialRef: "env://X"}})
				connectortest.CheckCode(t, err, tc.want, clientSecret)
				if err == nil || !strings.Contains(err.Error(), "tenantId and clientId") {
					t.Fatalf("refused for another reason: %v", err)
				}
				return
			}
			if tc.secret == "" && tc.config == nil {
				secret = basicJSON(adminUser, adminPass)
			}
			c := newConnector(t, f.srv.URL, tc.config, secret)
			var err error
			if tc.check {
				err = c.CheckAuthentication(ctxT(t))
			} else {
				_, err = c.Discover(ctxT(t), tc.q)
			}
			connectortest.CheckCode(t, err, tc.want, clientSecret)
		})
	}
	t.Run("a throttled registry is RATE_LIMITED with its Retry-After", func(t *testing.T) {
		t.Parallel()
		g := newFakeACR(t, reg.URL, many, nil)
		g.throttle(4)
		c := newConnector(t, g.srv.URL, nil, basicJSON(adminUser, adminPass))
		_, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories})
		connectortest.CheckCode(t, err, resilience.RateLimited, adminPass)
	})
}

// TestFakeRefusesWhatACRRefuses keeps the fake honest: the catalog without
// or with a wrong token, a token without the catalog scope and an invalid
// n; the exchange without a trusted Entra token.
func TestFakeRefusesWhatACRRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeACR(t, "http://127.0.0.1:9", []string{"a", "b"}, nil)
	issue := func(scope string) string {
		req := httptest.NewRequest(http.MethodGet, "/oauth2/token?service="+f.host()+"&scope="+scope, nil)
		req.SetBasicAuth(adminUser, adminPass)
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		var out struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(rec.Body).Decode(&out)
		return out.AccessToken
	}
	catalog, pull := issue("registry:catalog:*"), issue("repository:a:pull")
	tests := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"catalog without a token", http.MethodGet, "/acr/v1/_catalog", "", http.StatusUnauthorized},
		{"catalog with a made-up token", http.MethodGet, "/acr/v1/_catalog", "Bearer made-up", http.StatusUnauthorized},
		{"catalog with a pull token", http.MethodGet, "/acr/v1/_catalog", "Bearer " + pull, http.StatusUnauthorized},
		{"n out of range", http.MethodGet, "/acr/v1/_catalog?n=0", "Bearer " + catalog, http.StatusBadRequest},
		{"n not a number", http.MethodGet, "/acr/v1/_catalog?n=x", "Bearer " + catalog, http.StatusBadRequest},
		{"catalog page", http.MethodGet, "/acr/v1/_catalog?n=1&last=a", "Bearer " + catalog, http.StatusOK},
		{"token without credentials", http.MethodGet, "/oauth2/token?scope=registry:catalog:*", "", http.StatusUnauthorized},
		{"exchange of no Entra token", http.MethodPost, "/oauth2/exchange?", "", http.StatusBadRequest},
	}
	for _, tc := range tests {
		ocitest.CheckStatus(t, tc.name, f.srv.Config.Handler, ocitest.Request{Method: tc.method, Path: tc.path, Auth: tc.auth}, tc.want)
	}
}
