package azuredevops

import (
	"fmt"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/azuredevops/azuredevopsfake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

// TestConformance runs the connector conformance suite against the fake
// service in pages of 4: the project holds deploy, nightly and ten
// pipelines svc-00 …;
// rate limited, it answers 429 with Retry-After and X-RateLimit-*.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := azuredevopsfake.Start(t)
			// Pages of 4: continuation tokens pass the runtime's scrubber,
			// which blanks credential-named query values (continuationToken)
			// in every text a connector returns, cursors included.
			f.MaxTop = 4
			for i := range 10 {
				f.AddPipeline(azuredevopsfake.Project, &azuredevopsfake.Pipeline{ID: int64(100 + i), Name: fmt.Sprintf("svc-%02d", i), Folder: `\services`})
			}
			return connectortest.Server{URL: f.URL(), RateLimit: func() { f.ThrottleAll(connectortest.RetryAfterSeconds) }}
		},
		Integration: connectortest.Credentialed("AZDO", map[string]any{"organization": azuredevopsfake.Org, "project": azuredevopsfake.Project},
			tokenJSON(azuredevopsfake.Token), tokenJSON(azuredevopsfake.OtherOrgToken)),
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourcePipelines, PageSize: 5, Total: 12, NamePattern: "svc-0[0-2]", Matching: 3},
		},
	})
}
