package github

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/githubapi/githubfake"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConformance runs the connector conformance suite against the fake
// GitHub (fill): 12 organizations (half team-*), 12 repositories of acme
// (half api-*), 12 branches and 12 tags of acme/app; rate limited, it
// answers as GitHub's secondary rate limit does, 429 with Retry-After.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			f := githubfake.New(t)
			fill(f)
			return connectortest.Server{URL: f.URL, RateLimit: func() {
				f.LimitEvery(githubfake.Limit{Status: http.StatusTooManyRequests, RetryAfter: connectortest.RetryAfterSeconds, ResetIn: 3600})
			}}
		},
		Integration: connectortest.Credentialed("GITHUB", map[string]any{"owner": "acme"},
			connectortest.TokenSecret(githubfake.UserToken), connectortest.TokenSecret(githubfake.WrongToken)),
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
func fill(f *githubfake.Server) {
	orgs := []string{"acme"}
	repos := []githubfake.Repo{{Owner: "acme", Name: "app", Private: true, DefaultBranch: "main"}}
	for i := 0; i < 11; i++ {
		org, repo := fmt.Sprintf("org-%02d", i), fmt.Sprintf("svc-%02d", i)
		if i < 6 {
			org, repo = fmt.Sprintf("team-%02d", i), fmt.Sprintf("api-%02d", i)
		}
		orgs = append(orgs, org)
		repos = append(repos, githubfake.Repo{Owner: "acme", Name: repo, DefaultBranch: "main"})
	}
	app := &repos[0]
	app.Branches = []string{"main"}
	for i := range 4 {
		app.Branches = append(app.Branches, fmt.Sprintf("release/%d", i))
	}
	for i := 5; i < 12; i++ {
		app.Branches = append(app.Branches, fmt.Sprintf("feature-%02d", i))
	}
	for i := range 9 {
		app.Tags = append(app.Tags, fmt.Sprintf("v1.%d", i))
	}
	for i := range 3 {
		app.Tags = append(app.Tags, fmt.Sprintf("v2.%d", i))
	}
	f.AddOrgs(orgs...)
	f.AddRepos(repos...)
}
