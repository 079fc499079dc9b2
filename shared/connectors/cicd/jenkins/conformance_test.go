package jenkins

import (
	"fmt"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"

	"github.com/stella-ops/inthub/shared/connectors/cicd/jenkins/jenkinsfake"
)

// TestConformance runs the connector conformance suite against the fake
// Jenkins holding 8 freestyle jobs app-00 … at the root and 6 Pipelines
// team-a/svc-00 … in a folder; rate limited, it answers as a reverse proxy
// in front of Jenkins does, 429 with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := jenkinsfake.New(t)
			var svcs []*jenkinsfake.Item
			for i := range 6 {
				svcs = append(svcs, jenkinsfake.Job(jenkinsfake.ClassWorkflowJob, fmt.Sprintf("svc-%02d", i)))
			}
			for i := range 8 {
				f.AddRoot(jenkinsfake.Job(jenkinsfake.ClassFreestyle, fmt.Sprintf("app-%02d", i)))
			}
			f.AddRoot(jenkinsfake.Folder("team-a", svcs...))
			return connectortest.Server{URL: f.URL(), RateLimit: func() { f.ThrottleAll(connectortest.RetryAfterSeconds) }}
		},
		Integration: connectortest.Credentialed("JENKINS", nil,
			basic("alice", jenkinsfake.AliceToken), basic("alice", "wrong-token-123456")),
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceJobs, PageSize: 5, Total: 14, NamePattern: "app-*", Matching: 8},
			{ResourceType: ResourcePipelines, PageSize: 4, Total: 6, NamePattern: "team-a/svc-0[0-2]", Matching: 3},
		},
	})
}
