package jenkins

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
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
			f := newFakeJenkins(t)
			f.mu.Lock()
			teamA := folder("team-a")
			for i := range 6 {
				teamA.children = append(teamA.children, &fakeItem{class: classWorkflowJob, name: fmt.Sprintf("svc-%02d", i), color: "blue"})
			}
			for i := range 8 {
				f.root = append(f.root, &fakeItem{class: classFreestyle, name: fmt.Sprintf("app-%02d", i), color: "blue"})
			}
			f.root = append(f.root, teamA)
			f.mu.Unlock()
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.throttleAll(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			token := aliceToken
			if wrong {
				token = "wrong-token-123456"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String()},
				CredentialRef: connectortest.SecretRef("JENKINS"),
				Secrets:       map[string]string{"JENKINS": basic("alice", token)},
			}
		},
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceJobs, PageSize: 5, Total: 14, NamePattern: "app-*", Matching: 8},
			{ResourceType: ResourcePipelines, PageSize: 4, Total: 6, NamePattern: "team-a/svc-0[0-2]", Matching: 3},
		},
	})
}
