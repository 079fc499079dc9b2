package newrelic

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

const (
	testKey     = "NRAK-0123456789ABCDEFGHIJKLMNOPQ"
	testAccount = 1234567
)

// TestConformance runs the connector conformance suite against the fake.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := &fake{key: testKey, account: testAccount}
			srv := startFake(t, f)
			return connectortest.Server{URL: srv.URL, RateLimit: func() {
				f.mu.Lock()
				f.limited = true
				f.mu.Unlock()
			}}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			key := testKey
			if wrong {
				key = "NRAK-WRONG"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "accountId": float64(testAccount)},
				CredentialRef: connectortest.SecretRef("NEWRELIC"),
				Secrets:       map[string]string{"NEWRELIC": `{"apiKey":"` + key + `"}`},
			}
		},
	})
}
