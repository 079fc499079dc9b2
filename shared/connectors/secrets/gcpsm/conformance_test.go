package gcpsm

import (
	"net/url"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// Google token endpoint and Secret Manager with a service-account key and a
// canary secret; rate limited, it answers as Google does when a quota is
// exhausted, 429 RESOURCE_EXHAUSTED. Each subtest's fake has its own
// service account, found by the fake's address; the wrong key is one no
// fake of the test knows.
func TestConformance(t *testing.T) {
	t.Parallel()
	const email = "hub@hub-project.iam.gserviceaccount.com"
	wrongKey := startGCP(t).addAccount(t, email)
	var keys sync.Map // host -> service-account key JSON
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := startGCP(t)
			u, _ := url.Parse(f.srv.URL)
			keys.Store(u.Host, f.addAccount(t, email))
			f.put("canary", value)
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.throttle = 1 << 20
			}}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			key := wrongKey
			if v, ok := keys.Load(base.Host); ok && !wrong {
				key = v.(string)
			}
			return connectortest.Integration{
				Config:        map[string]any{"project": "hub-project", "url": base.String(), "tokenUrl": base.String() + "/token", "canarySecret": "canary"},
				CredentialRef: connectortest.SecretRef("GCP"),
				Secrets:       map[string]string{"GCP": key},
			}
		},
		NoRetryAfter: "Google answers an exhausted quota with 429 RESOURCE_EXHAUSTED and no Retry-After; the retry waits by backoff",
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is any HTTP answer of the API host (an unauthenticated list); quotas apply to authenticated calls",
		}, {
			Case: connectortest.CaseRateLimited, Level: contracts.CheckAuthentication, Want: "",
			Why: "authentication exchanges the key for a token at the OAuth2 endpoint, which Secret Manager's quota does not cover",
		}},
	})
}
