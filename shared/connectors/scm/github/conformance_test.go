package github

import (
	"net/http"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/githubapi/githubfake"
	"github.com/stella-ops/inthub/shared/connectors/scm/scmkit/scmkittest"
)

// TestConformance runs the connector conformance suite against the fake
// GitHub holding scmkittest.ConformanceFixture (12 organizations, half
// team-*; 12 repositories of acme, half api-*; 12 branches and 12 tags of
// acme/app); rate limited, it answers as GitHub's secondary rate limit does, 429 with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := githubfake.New(t)
			load(f, scmkittest.ConformanceFixture())
			return connectortest.Server{URL: f.URL, RateLimit: func() {
				f.LimitEvery(githubfake.Limit{Status: http.StatusTooManyRequests, RetryAfter: connectortest.RetryAfterSeconds, ResetIn: 3600})
			}}
		},
		Integration: connectortest.Credentialed("GITHUB", map[string]any{"owner": "acme"},
			connectortest.TokenSecret(githubfake.UserToken), connectortest.TokenSecret(githubfake.WrongToken)),
		Discovery: scmkittest.ConformanceDiscovery(),
	})
}
