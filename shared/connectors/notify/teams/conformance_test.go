package teams

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// Teams workflow (over TLS: a Teams webhook URL is https). The webhook URL
// is the secret; a wrong one carries a signature the workflow refuses
// (401 DirectApiInvalidAuthorizationSignature). Rate limited, the
// workflow answers 429 with Retry-After. Each subtest has its own fake and
// certificate, so the integration skips verification rather than naming
// one caCert.
func TestConformance(t *testing.T) {
	t.Parallel()
	const why = "the authentication level checks the webhook URL's shape only: a Teams workflow has no call that checks its signature without posting a card"
	var exceptions []connectortest.Exception
	for _, c := range []connectortest.Case{connectortest.CaseRefused, connectortest.CaseTimeout, connectortest.CaseAuthFailure, connectortest.CaseRateLimited, connectortest.CaseBlocked} {
		exceptions = append(exceptions, connectortest.Exception{Case: c, Level: contracts.CheckAuthentication, Want: "", Why: why})
	}
	exceptions = append(exceptions, connectortest.Exception{Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
		Why: "connectivity is any HTTP answer of the webhook host's root; the workflow's rate limit is on its trigger"})
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			w := newWorkflow(t)
			return connectortest.Server{URL: w.srv.URL, RateLimit: func() {
				w.mu.Lock()
				defer w.mu.Unlock()
				for range 10 {
					w.forced = append(w.forced, forcedAnswer{http.StatusTooManyRequests, http.Header{"Retry-After": {strconv.Itoa(connectortest.RetryAfterSeconds)}}})
				}
			}}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			sig := "Xr2Fq9sig0secret"
			if wrong {
				sig = "Wr0ngSig0000secret"
			}
			u := *base
			u.Scheme = "https"
			return connectortest.Integration{
				Config: map[string]any{"webhookUrlRef": connectortest.SecretRef("TEAMS"), "healthCheckCard": true, "insecureSkipVerify": true},
				Secrets: map[string]string{"TEAMS": u.String() + "/workflows/8f1b2c3d4e5f40718293a4b5c6d7e8f9/triggers/manual/paths/invoke" +
					"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sig},
			}
		},
		Exceptions: exceptions,
	})
}
