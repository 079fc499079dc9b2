package vault

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault/vaultfake"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// Vault with a root token and a canary secret; rate limited, it answers
// 429 with Retry-After as Vault's rate-limit quotas do.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			fake := rootFake(t)
			fake.Put(vaultfake.Root, "secret", "inthub/canary", map[string]any{"ok": "yes"})
			return connectortest.Server{URL: fake.URL, RateLimit: func() { fake.Throttle(1000, connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			token := rootToken
			if wrong {
				token = "hvs.WRONG-tok3n-0000000000000"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "mountPath": "secret", "canaryPath": "inthub/canary"},
				CredentialRef: connectortest.SecretRef("VAULT"),
				Secrets:       map[string]string{"VAULT": `{"token":"` + token + `"}`},
			}
		},
		NoRetryAfter: "the vault/api library keeps no response headers, so Vault's Retry-After is lost and the retry waits by backoff (errors.go)",
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity reads sys/health, which Vault's rate-limit quotas exempt",
		}},
	})
}
