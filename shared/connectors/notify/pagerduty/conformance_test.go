package pagerduty

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/notify/pagerduty/pagerdutyfake"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// PagerDuty (Events API and REST API on one server), with a routing key and
// a REST API key; wrong credentials are a routing key and an API key it
// does not know.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			pd := pagerdutyfake.New(t, routingKey, restKey)
			return connectortest.Server{URL: pd.URL, RateLimit: func() { pd.Throttle(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			rk, key := routingKey, restKey
			if wrong {
				rk, key = "Rwrong6789abcdef0123456789abcdef", "wrong-rest-key-000000"
			}
			return connectortest.Integration{
				Config:        map[string]any{"routingKeyRef": connectortest.SecretRef("ROUTING"), "eventsUrl": base.String(), "apiUrl": base.String()},
				CredentialRef: connectortest.SecretRef("API"),
				Secrets:       map[string]string{"ROUTING": rk, "API": `{"apiKey":"` + key + `"}`},
			}
		},
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is any HTTP answer of the Events API host; PagerDuty rate-limits per routing key and API key, not the host",
		}},
	})
}
