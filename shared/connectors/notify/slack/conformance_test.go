package slack

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

// TestConformance runs the connector conformance suite against the fake
// Slack Web API holding 14 public channels (#releases, team-00 …,
// deploy-00 …); rate limited, it answers 429 with Retry-After and
// {"ok":false,"error":"ratelimited"}.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := newFakeSlack(t)
			f.mu.Lock()
			f.channels = append(f.channels, &fakeChannel{id: "C0RELEASES", name: "releases", member: true})
			for i := range 10 {
				f.channels = append(f.channels, &fakeChannel{id: fmt.Sprintf("C%08d", i), name: fmt.Sprintf("team-%02d", i), member: true})
			}
			for i := range 3 {
				f.channels = append(f.channels, &fakeChannel{id: fmt.Sprintf("C1%07d", i), name: fmt.Sprintf("deploy-%02d", i), member: true})
			}
			f.mu.Unlock()
			return connectortest.Server{URL: f.srv.URL + "/api", RateLimit: func() { f.throttleAll(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			token := botToken
			if wrong {
				token = wrongToken
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "defaultChannel": "#releases"},
				CredentialRef: connectortest.SecretRef("SLACK"),
				Secrets:       map[string]string{"SLACK": `{"token":"` + token + `"}`},
			}
		},
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceChannels, PageSize: 5, Total: 14, NamePattern: "deploy-*", Matching: 3},
		},
	})
}
