package azurekv

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// Entra ID and Key Vault (one TLS server) with a client secret and a
// canary secret; rate limited, Key Vault answers 429 Throttled with
// Retry-After. Each subtest has its own server and certificate, so the
// integration skips verification rather than naming one caCert.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := startAzure(t)
			f.addClient(clientID, clientSecret)
			f.put("canary", value)
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.throttle, f.retryAfter = 1<<20, connectortest.RetryAfterSeconds
			}}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			secret := clientSecret
			if wrong {
				secret = "wrong-azure-client-secret-0000"
			}
			u := *base
			u.Scheme = "https"
			return connectortest.Integration{
				Config: map[string]any{"url": u.String(), "authorityHost": u.String() + "/", "tenantId": fakeTenant, "clientId": clientID,
					"insecureSkipVerify": true, "skipChallengeResourceVerification": true, "canarySecret": "canary"},
				CredentialRef: connectortest.SecretRef("AZURE"),
				Secrets:       map[string]string{"AZURE": secret},
			}
		},
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is any HTTP answer of the vault host; Key Vault throttles authenticated calls",
		}},
	})
}
