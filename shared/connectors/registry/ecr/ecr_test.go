package ecr

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newConnector(t *testing.T, url string, config map[string]any, secret string) *Connector {
	t.Helper()
	return ocitest.Connect(t, Spec, url, "ECR_KEYS", map[string]any{"region": region}, config, secret).(*Connector)
}

func ctxT(t *testing.T) context.Context { return ocitest.Context(t) }

// TestECR covers what the conformance suite does not: DescribeRepositories
// paged to the end by nextToken, the registry taken from registryUrl or
// from the token's proxyEndpoint, tags with digests over the real registry
// API v2, and ECR's refusals with their codes.
func TestECR(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	digests := reg.PushCreated(t, "team/api", map[string]time.Time{"1.0.0": time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	var many []string
	for i := range 2500 {
		many = append(many, fmt.Sprintf("r%04d", i))
	}
	f := newFakeECR(t, "https://elsewhere.invalid", many)
	right := keysJSON(keyID, keySecret)

	t.Run("repositories page to the end", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, f.srv.URL, nil, right)
		got := ocitest.ListNames(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 700}, keySecret)
		if !slices.Equal(got, many) {
			t.Fatalf("%d repositories, want %d", len(got), len(many))
		}
	})
	t.Run("tags with digests from registryUrl", func(t *testing.T) {
		t.Parallel()
		// The token names elsewhere.invalid: registryUrl wins.
		c := newConnector(t, f.srv.URL, map[string]any{"registryUrl": reg.URL, "resolveDigests": true}, right)
		ocitest.OneTag(t, c, ResourceTags, "team/api", "", digests["1.0.0"], keySecret)
		if err := c.CheckAuthentication(ctxT(t)); err != nil {
			t.Fatalf("authentication: %v", err)
		}
	})
	t.Run("a throttled API is RATE_LIMITED", func(t *testing.T) {
		t.Parallel()
		g := newFakeECR(t, reg.URL, many)
		g.setThrottle(true)
		c := newConnector(t, g.srv.URL, nil, right)
		_, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories})
		connectortest.CheckCode(t, err, resilience.RateLimited, keySecret)
	})
	refusals := []ocitest.Refusal{
		{Name: "another account", Config: map[string]any{"registryId": "210987654321", "registryUrl": reg.URL}, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.PermissionDenied},
		{Name: "wrong secret key", Secret: keysJSON(keyID, "wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
		{Name: "unknown key", Secret: keysJSON("AKIAUNKNOWNKEY00001", keySecret), Check: true, Want: resilience.AuthenticationFailed},
		{Name: "wrong key on tags", Secret: keysJSON(keyID, "wrong"), Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "team/api"}}, Want: resilience.AuthenticationFailed},
		{Name: "a nextToken ECR did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: kit.EncodeCursor(kit.Position{Page: "forged"})}, Want: resilience.InvalidConfig},
		{Name: "a cursor it did not issue", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: "garbage"}, Want: resilience.InvalidConfig},
		{Name: "tags without a repository", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags}, Want: resilience.InvalidConfig},
		{Name: "keys without a secret", Secret: `{"accessKeyId":"` + keyID + `"}`, Check: true, Want: resilience.InvalidConfig},
	}
	ocitest.RunRefusals(t, refusals, right, func(t *testing.T, config map[string]any, secret string) ocitest.Connector {
		return newConnector(t, f.srv.URL, config, secret)
	}, keySecret)
}

// TestFakeRefusesWhatECRRefuses keeps the fake honest where the connector
// cannot reach: unsigned and malformed Authorization headers and a GET are
// refused with ECR's error types.
func TestFakeRefusesWhatECRRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeECR(t, "http://127.0.0.1:9", []string{"a"})
	tests := []struct {
		name, method, auth, want string
	}{
		{"no signature", http.MethodPost, "", "MissingAuthenticationTokenException"},
		{"not SigV4", http.MethodPost, "Bearer x", "IncompleteSignatureException"},
		{"a GET", http.MethodGet, "", "UnknownOperationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tc.method, "/", strings.NewReader("{}"))
			req.Header.Set("X-Amz-Target", targetPref+"DescribeRepositories")
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			f.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code < 400 || rec.Header().Get("X-Amzn-Errortype") != tc.want {
				t.Fatalf("status %d %s, want %s", rec.Code, rec.Body, tc.want)
			}
		})
	}
}
