package datadog

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	testAPIKey = "dd-api-key-0123456789abcdef"
	testAppKey = "dd-app-key-fedcba9876543210"
)

func keysSecret(api, app string) string { return `{"apiKey":"` + api + `","appKey":"` + app + `"}` }

// TestConformance runs the connector conformance suite against the fake.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := &fake{apiKey: testAPIKey, appKey: testAppKey}
			srv := startFake(t, f)
			return connectortest.Server{URL: srv.URL, RateLimit: func() {
				f.mu.Lock()
				f.limited = true
				f.mu.Unlock()
			}}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			api := testAPIKey
			if wrong {
				api = "wrong-dd-api-key-0000"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String()},
				CredentialRef: connectortest.SecretRef("DATADOG"),
				Secrets:       map[string]string{"DATADOG": keysSecret(api, testAppKey)},
			}
		},
		// Datadog answers a wrong key 403 Forbidden, as it does a key
		// without the permission.
		AuthFailure: resilience.PermissionDenied,
	})
}
