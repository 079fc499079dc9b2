package gitea

import (
	"fmt"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// Gitea (fill): 12 organizations (half team-*), 12 repositories of acme
// (half api-*), 12 branches and 12 tags of acme/app; rate limited, it
// answers as a proxy in front of Gitea does, 429 with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := newFakeGitea(t)
			fill(f)
			return connectortest.Server{URL: f.srv.URL, RateLimit: f.limitEvery}
		},
		Integration: connectortest.Credentialed("GITEA", map[string]any{"owner": "acme"},
			connectortest.TokenSecret(fakeToken), connectortest.TokenSecret(wrongToken)),
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceProjects, PageSize: 5, Total: 12, NamePattern: "team-*", Matching: 6},
			{ResourceType: ResourceRepositories, PageSize: 5, Total: 12, NamePattern: "api-*", Matching: 6},
			{ResourceType: ResourceBranches, Scope: contracts.DiscoveryFilter{Repository: "acme/app"}, PageSize: 5, Total: 12, NamePattern: "release/*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: "acme/app"}, PageSize: 5, Total: 12, NamePattern: "v2.*", Matching: 3},
		},
	})
}

// fill gives the fake the conformance data: organizations acme, team-00 …
// team-05, org-06 … org-10 (12); acme's repositories app, api-00 … api-05,
// svc-06 … svc-10 (12, app private); app's branches main, release/0 …
// release/3, feature-05 … feature-11 and tags v1.0 … v1.8, v2.0 … v2.2.
func fill(f *fakeGitea) {
	orgs := []string{"acme"}
	repos := []fakeRepo{{owner: "acme", name: "app", private: true, defaultBranch: "main"}}
	for i := 0; i < 11; i++ {
		org, repo := fmt.Sprintf("org-%02d", i), fmt.Sprintf("svc-%02d", i)
		if i < 6 {
			org, repo = fmt.Sprintf("team-%02d", i), fmt.Sprintf("api-%02d", i)
		}
		orgs = append(orgs, org)
		repos = append(repos, fakeRepo{owner: "acme", name: repo, defaultBranch: "main"})
	}
	app := &repos[0]
	app.branches = []string{"main"}
	for i := range 4 {
		app.branches = append(app.branches, fmt.Sprintf("release/%d", i))
	}
	for i := 5; i < 12; i++ {
		app.branches = append(app.branches, fmt.Sprintf("feature-%02d", i))
	}
	for i := range 9 {
		app.tags = append(app.tags, fmt.Sprintf("v1.%d", i))
	}
	for i := range 3 {
		app.tags = append(app.tags, fmt.Sprintf("v2.%d", i))
	}
	f.addOrgs(orgs...)
	f.addRepos(repos...)
}
