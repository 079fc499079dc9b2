package inmemory

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite on the test-only
// registry. It makes no connection: each health case is its failure mode,
// so the suite checks the codes the hub's tests rely on it for.
func TestConformance(t *testing.T) {
	t.Parallel()
	var repos, tags []any
	for i := range 12 {
		team := "alpha"
		if i >= 9 {
			team = "beta"
		}
		repos = append(repos, fmt.Sprintf("%s/app-%02d", team, i))
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	modes := map[connectortest.Case]map[string]any{
		connectortest.CaseHealthy:     {},
		connectortest.CaseRefused:     {"failureMode": FailConnectionRefused},
		connectortest.CaseTimeout:     {"failureMode": FailTimeout},
		connectortest.CaseAuthFailure: {"failureMode": FailAuthentication},
		connectortest.CaseRateLimited: {"failureMode": FailRateLimited, "retryAfterSeconds": float64(connectortest.RetryAfterSeconds)},
	}
	connectortest.RunConformance(t, connectortest.Provider{
		Spec:     Spec,
		Simulate: func(c connectortest.Case) map[string]any { return modes[c] },
		Integration: func(*url.URL, bool) connectortest.Integration {
			return connectortest.Integration{
				Config:        map[string]any{"repositories": repos, "tags": tags, "token": connectortest.SecretRef("TOKEN")},
				CredentialRef: connectortest.SecretRef("CRED"),
				Secrets:       map[string]string{"TOKEN": "inmemory-token-value-1", "CRED": `{"token":"inmemory-cred-value-2"}`},
			}
		},
		Discovery: []connectortest.Discovery{
			{ResourceType: "repositories", PageSize: 5, Total: 12, NamePattern: "beta/*", Matching: 3},
			{ResourceType: "tags", Scope: contracts.DiscoveryFilter{Repository: "alpha/app-00"}, PageSize: 5, Total: 12, NamePattern: "1.1*", Matching: 3},
		},
		NotApplicable: map[connectortest.Case]string{
			connectortest.CaseBlocked: "the in-memory registry opens no connection, so there is nothing for the guard to refuse",
		},
	})
}
