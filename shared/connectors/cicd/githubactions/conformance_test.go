package githubactions

import (
	"net/http"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"

	"github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/githubactionsfake"
)

// TestConformance runs the connector conformance suite against the fake
// GitHub: 12 workflows (one named deploy-010) and a latest run of 12 jobs
// (job-000 …); rate limited, it answers as GitHub's secondary rate limit
// does, 429 with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := githubactionsfake.New(t)
			f.AddWorkflows(12)
			f.AddRun(10_001, 12)
			return connectortest.Server{URL: f.URL(), RateLimit: func() {
				f.LimitEvery(githubactionsfake.Limit{Status: http.StatusTooManyRequests, RetryAfter: connectortest.RetryAfterSeconds, ResetIn: 3600})
			}}
		},
		Integration: connectortest.Credentialed("GITHUB", map[string]any{"owner": githubactionsfake.Owner, "repo": githubactionsfake.Repo},
			connectortest.TokenSecret(githubactionsfake.UserToken), connectortest.TokenSecret(githubactionsfake.WrongToken)),
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourcePipelines, PageSize: 5, Total: 12, NamePattern: "deploy-*", Matching: 1},
			{ResourceType: ResourceJobs, PageSize: 5, Total: 12, NamePattern: "job-00?", Matching: 10},
		},
	})
}
