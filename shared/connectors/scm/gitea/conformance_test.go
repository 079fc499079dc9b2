package gitea

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/scm/scmkit/scmkittest"
)

// TestConformance runs the connector conformance suite against the fake
// Gitea holding scmkittest.ConformanceFixture (12 organizations, half
// team-*; 12 repositories of acme, half api-*; 12 branches and 12 tags of
// acme/app); rate limited, it answers as a proxy in front of Gitea does, 429 with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := newFakeGitea(t)
			load(f, scmkittest.ConformanceFixture())
			return connectortest.Server{URL: f.srv.URL, RateLimit: f.limitEvery}
		},
		Integration: connectortest.Credentialed("GITEA", map[string]any{"owner": "acme"},
			connectortest.TokenSecret(fakeToken), connectortest.TokenSecret(wrongToken)),
		Discovery: scmkittest.ConformanceDiscovery(),
	})
}
