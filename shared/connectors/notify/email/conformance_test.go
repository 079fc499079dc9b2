package email

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/notify/email/smtptest"
)

// TestConformance runs the connector conformance suite against the test
// SMTP server (STARTTLS, AUTH PLAIN/LOGIN), pointed at by host and port.
// Each subtest has its own server and certificate, so the integration
// skips verification rather than naming one caCert.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			s := smtptest.Start(t, smtptest.Options{Username: user, Password: password})
			return connectortest.Server{URL: "http://" + s.Addr}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			pw := password
			if wrong {
				pw = "wrong-smtp-pass-77"
			}
			host, port := connectortest.HostPort(base)
			return connectortest.Integration{
				Config: map[string]any{"host": host, "port": float64(port), "from": "Release Bot <bot@inthub.test>",
					"to": []any{"oncall@inthub.test"}, "insecureSkipVerify": true},
				CredentialRef: connectortest.SecretRef("SMTP"),
				Secrets:       map[string]string{"SMTP": `{"username":"` + user + `","password":"` + pw + `"}`},
			}
		},
		NotApplicable: map[connectortest.Case]string{
			connectortest.CaseRateLimited: "SMTP has no 429 nor Retry-After: a throttling server answers 421/450/451, a transient failure without a delay",
		},
	})
}
