package s3compatible

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against VersityGW,
// a real S3 server, fronted by a proxy that answers as S3 asks a client to
// slow down once told to: 503 SlowDown with a Retry-After. Each subtest's
// gateway has its own root keys and bucket, found by the proxy's address.
func TestConformance(t *testing.T) {
	t.Parallel()
	type target struct{ access, secret, bucket string }
	var targets sync.Map // proxy host -> target
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			g := startGateway(t)
			bucket := g.createBucket(t)
			th := connectortest.StartThrottle(t, g.URL, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", strconv.Itoa(connectortest.RetryAfterSeconds))
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`))
			})
			u, _ := url.Parse(th.URL)
			targets.Store(u.Host, target{g.AccessKey, g.SecretKey, bucket})
			return connectortest.Server{URL: th.URL, RateLimit: th.Limit}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			tg := target{"AKIANOSERVER0000", "no-server-secret-key-0000000000", "b-none"}
			if v, ok := targets.Load(base.Host); ok {
				tg = v.(target)
			}
			if wrong {
				tg.secret = "wrong-secret-key-00000000000000000"
			}
			keys, _ := json.Marshal(map[string]string{"accessKeyId": tg.access, "secretAccessKey": tg.secret})
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "bucket": tg.bucket},
				CredentialRef: connectortest.SecretRef("S3"),
				Secrets:       map[string]string{"S3": string(keys)},
			}
		},
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is any HTTP answer of the endpoint (an unsigned GET /); a SlowDown answer proves it reachable",
		}},
	})
}
