package awssm

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// Secrets Manager (SigV4 verified) with a canary secret; rate limited, it
// answers as AWS throttles: HTTP 400 ThrottlingException.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := startAWS(t)
			f.addKey(keyID, keySecret)
			f.put("inthub/canary", value)
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.throttle = 1 << 20
			}}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			secret := keySecret
			if wrong {
				secret = "wrong-" + keySecret
			}
			return connectortest.Integration{
				Config:        map[string]any{"region": "eu-west-1", "url": base.String(), "canarySecret": "inthub/canary"},
				CredentialRef: connectortest.SecretRef("AWS"),
				Secrets:       map[string]string{"AWS": keysJSON(keyID, secret)},
			}
		},
		NoRetryAfter: "AWS answers throttling with HTTP 400 ThrottlingException and no Retry-After; the retry waits by backoff",
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is any HTTP answer to an unsigned GET of the endpoint; AWS throttles signed calls",
		}},
	})
}
