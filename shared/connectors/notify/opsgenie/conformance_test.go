package opsgenie

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/notify/opsgenie/opsgeniefake"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// OpsGenie, whose schedule "release-oncall" has 12 people on call (three
// of the SRE team); rate limited, it answers as OpsGenie throttles a key,
// 429 with X-RateLimit-Period-In-Sec (OpsGenie sends no Retry-After).
func TestConformance(t *testing.T) {
	t.Parallel()
	var onCall []string
	for i := range 9 {
		onCall = append(onCall, fmt.Sprintf("dev%02d@example.com", i))
	}
	onCall = append(onCall, "sre-anna@example.com", "sre-bob@example.com", "sre-carl@example.com")
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			og := opsgeniefake.New(t, genieKey)
			og.AddSchedule(opsgeniefake.Schedule{ID: "release-oncall", Name: "Release on-call", OnCall: onCall})
			return connectortest.Server{URL: og.URL, RateLimit: func() { og.Throttle(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			key := genieKey
			if wrong {
				key = "00000000-0000-4000-8000-000000000bad"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "schedule": "release-oncall"},
				CredentialRef: connectortest.SecretRef("OPSGENIE"),
				Secrets:       map[string]string{"OPSGENIE": `{"apiKey":"` + key + `"}`},
			}
		},
		Discovery: []connectortest.Discovery{{
			ResourceType: ResourceOnCall, PageSize: 5, Total: 12, NamePattern: "sre-*", Matching: 3,
			Unpaged: "OpsGenie's on-calls API answers a schedule's recipients at once, and the connector returns them as one page",
		}},
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is any HTTP answer of the API host's root; OpsGenie throttles API keys, not the host",
		}},
	})
}
