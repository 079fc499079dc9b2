package webhook

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// receiver, which checks the signature and a bearer token; rate limited,
// it answers every delivery 429 with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	const token = "whk-token-0123456789"
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			r := newReceiver(t, secret)
			r.authorization = "Bearer " + token
			return connectortest.Server{URL: r.srv.URL, RateLimit: func() {
				r.force(http.StatusTooManyRequests, http.Header{"Retry-After": {strconv.Itoa(connectortest.RetryAfterSeconds)}})
			}}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			signing, bearer := secret, token
			if wrong {
				signing, bearer = "wrong-signing-secret-42", "whk-wrong-9876543210"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String() + "/hooks/inthub", "signingSecretRef": connectortest.SecretRef("SIGNING")},
				CredentialRef: connectortest.SecretRef("TOKEN"),
				Secrets:       map[string]string{"SIGNING": signing, "TOKEN": `{"token":"` + bearer + `"}`},
			}
		},
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is any HTTP answer of the receiver (HEAD, then GET on 405); a receiver that rate-limits deliveries is still reachable",
		}},
	})
}
