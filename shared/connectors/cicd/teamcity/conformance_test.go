package teamcity

import (
	"fmt"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/teamcity/teamcityfake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

// TestConformance runs the connector conformance suite against the fake
// TeamCity holding projects Pipelines and Team_00 … Team_07 (8 + 1) and,
// besides Pipelines' two build types, Team_00_Build_00 … (6 in Team_00);
// rate limited, it answers as a reverse proxy in front of TeamCity does,
// 429 with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := teamcityfake.New(t)
			for i := range 8 {
				f.AddProject(fmt.Sprintf("Team_%02d", i), fmt.Sprintf("team-%02d", i), "")
			}
			for i := range 6 {
				f.AddBuildType(fmt.Sprintf("Team_00_Build_%02d", i), fmt.Sprintf("build-%02d", i), "Team_00")
			}
			return connectortest.Server{URL: f.URL(), RateLimit: func() { f.ThrottleAll(connectortest.RetryAfterSeconds) }}
		},
		Integration: connectortest.Credentialed("TEAMCITY", nil, token(teamcityfake.AliceToken), token(wrongToken)),
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceProjects, PageSize: 4, Total: 9, NamePattern: "team-0[0-4]", Matching: 5},
			{ResourceType: ResourceBuildTypes, PageSize: 3, Total: 8, NamePattern: "build-*", Matching: 6},
		},
	})
}
