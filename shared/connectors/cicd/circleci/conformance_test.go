package circleci

import (
	"fmt"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci/circlecifake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

// TestConformance runs the connector conformance suite against the fake
// API in pages of 4: the project holds 12 pipelines (numbers 1 … 12) and 12
// workflows (build-deploy, lint, svc-00 …); rate limited, it answers 429
// with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := circlecifake.Start(t)
			f.PageSize = 4
			f.AddPipelines(12, "main")
			for i := range 10 {
				f.AddWorkflowNames(fmt.Sprintf("svc-%02d", i))
			}
			return connectortest.Server{URL: f.URL(), RateLimit: func() { f.ThrottleAll(connectortest.RetryAfterSeconds) }}
		},
		Integration: connectortest.Credentialed("CIRCLECI", map[string]any{"projectSlug": circlecifake.Project},
			tokenJSON(circlecifake.Token), tokenJSON("CCIPAT_wrong_0000000000000000000000000000000000000000000000000000000")),
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourcePipelines, PageSize: 5, Total: 12, NamePattern: "1?", Matching: 3},
			{ResourceType: ResourceWorkflows, PageSize: 5, Total: 12, NamePattern: "svc-0[0-2]", Matching: 3},
		},
	})
}
