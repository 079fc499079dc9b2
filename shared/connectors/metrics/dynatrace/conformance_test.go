package dynatrace

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

const testToken = "dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.0123456789abcdef"

// TestConformance runs the connector conformance suite against the fake.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := &fake{token: testToken}
			srv := startFake(t, f)
			return connectortest.Server{URL: srv.URL, RateLimit: func() {
				f.mu.Lock()
				f.limited = true
				f.mu.Unlock()
			}}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			token := testToken
			if wrong {
				token = "dt0c01.WRONG.0000"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String()},
				CredentialRef: connectortest.SecretRef("DYNATRACE"),
				Secrets:       map[string]string{"DYNATRACE": `{"token":"` + token + `"}`},
			}
		},
	})
}
