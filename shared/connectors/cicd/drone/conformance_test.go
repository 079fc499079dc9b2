package drone

import (
	"fmt"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/drone/dronefake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// Drone holding octocat/hello-world, octocat/broken and team/svc-00 …
// team/svc-07 (10 repositories), and 9 builds of octocat/hello-world;
// rate limited, it answers as a reverse proxy in front of Drone does, 429
// with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := dronefake.New(t)
			for i := range 8 {
				f.AddRepo(dronefake.Repo{Owner: "team", Name: fmt.Sprintf("svc-%02d", i), Active: i%2 == 0})
			}
			f.AddHistory(dronefake.HelloWorld, 9)
			return connectortest.Server{URL: f.URL(), RateLimit: func() { f.ThrottleAll(connectortest.RetryAfterSeconds) }}
		},
		Integration: connectortest.Credentialed("DRONE", nil, token(dronefake.AliceToken), token(wrongToken)),
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 4, Total: 10, NamePattern: "team/svc-0[0-4]", Matching: 5},
			{ResourceType: ResourceBuilds, Scope: contracts.DiscoveryFilter{Repository: dronefake.HelloWorld}, PageSize: 4, Total: 9,
				NamePattern: "[1-3]", Matching: 3},
		},
	})
}
