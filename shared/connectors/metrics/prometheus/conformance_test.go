package prometheus

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestConformance runs the connector conformance suite against a real
// Prometheus with basic auth, fronted by a proxy that answers as a
// rate-limiting gateway in front of Prometheus (Mimir, Thanos, a hosted
// service) does once told to: 429 with Retry-After and the API's error
// body.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{Users: map[string]string{user: password}})
			th := connectortest.StartThrottle(t, prom.URL, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", strconv.Itoa(connectortest.RetryAfterSeconds))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"status":"error","errorType":"too_many_requests","error":"rate limit exceeded"}`))
			})
			return connectortest.Server{URL: th.URL, RateLimit: th.Limit}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			pw := password
			if wrong {
				pw = "wrong-pass-456"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String()},
				CredentialRef: connectortest.SecretRef("PROMETHEUS"),
				Secrets:       map[string]string{"PROMETHEUS": basicSecret(user, pw)},
			}
		},
	})
}
