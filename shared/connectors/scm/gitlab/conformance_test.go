package gitlab

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"

	"github.com/stella-ops/inthub/shared/connectors/scm/gitlab/gitlabfake"
)

// TestConformance runs the connector conformance suite for both GitLab
// providers against the fake GitLab.
func TestConformance(t *testing.T) {
	t.Parallel()
	integration := func(config map[string]any) func(*url.URL, bool) connectortest.Integration {
		return func(base *url.URL, wrong bool) connectortest.Integration {
			token := gitlabfake.PatAPI
			if wrong {
				token = "glpat-wrong-0000000000"
			}
			cfg := map[string]any{"url": base.String()}
			for k, v := range config {
				cfg[k] = v
			}
			return connectortest.Integration{
				Config:        cfg,
				CredentialRef: connectortest.SecretRef("GITLAB"),
				Secrets:       map[string]string{"GITLAB": connectortest.TokenSecret(token)},
			}
		}
	}
	start := func(fill func(f *gitlabfake.GitLab)) func(t *testing.T) connectortest.Server {
		return func(t *testing.T) connectortest.Server {
			f := gitlabfake.New(t)
			fill(f)
			return connectortest.Server{URL: f.URL(), RateLimit: func() { f.ThrottleAll(connectortest.RetryAfterSeconds) }}
		}
	}
	tests := []connectortest.Provider{
		{
			Spec: Spec,
			// 12 member projects, half in team-b, and decoys (a public
			// non-member and an archived project) the listing skips.
			Start:       start(func(f *gitlabfake.GitLab) { f.AddProjects(12) }),
			Integration: integration(nil),
			Discovery: []connectortest.Discovery{
				{ResourceType: ResourceProjects, PageSize: 5, Total: 12, NamePattern: "team-b/*", Matching: 6},
				{ResourceType: ResourceRepositories, PageSize: 5, Total: 12, NamePattern: "team-a/*", Matching: 6},
			},
		},
		{
			Spec: CISpec,
			// 12 pipelines (two on release refs) and 12 jobs (half tests).
			Start:       start(func(f *gitlabfake.GitLab) { f.AddCIProject(12, 12) }),
			Integration: integration(map[string]any{"projectId": "team/app"}),
			Discovery: []connectortest.Discovery{
				{ResourceType: ResourcePipelines, PageSize: 5, Total: 12, NamePattern: "release-*", Matching: 2},
				{ResourceType: ResourceJobs, PageSize: 5, Total: 12, NamePattern: "test-*", Matching: 6},
			},
		},
	}
	for _, p := range tests {
		t.Run(p.Spec.ID, func(t *testing.T) {
			t.Parallel()
			connectortest.RunConformance(t, p)
		})
	}
}
