package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/githubapi/githubfake"
	"github.com/stella-ops/inthub/shared/connectors/scm/scmkit/scmkittest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const credEnv = "GITHUB_TOKEN"

// newConnector builds a connector for the fake as the runtime does, its
// clock set to the fake's so reset times give exact waits. owner "" leaves
// the field unset; token "" sends none.
func newConnector(t *testing.T, f *githubfake.Server, owner, token string) *Connector {
	t.Helper()
	cfg := map[string]any{}
	if owner != "" {
		cfg["owner"] = owner
	}
	c := connectortest.NewConnector(t, connectortest.Setup{Spec: Spec, URL: f.URL, Config: cfg, EnvVar: credEnv,
		Secret: connectortest.TokenSecret(token), NoRef: token == ""}).(*Connector)
	c.hc.Now = func() time.Time { return f.Now }
	return c
}

func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	connectortest.CheckCode(t, err, want, githubfake.Tokens...)
}

// bigFake holds scmkittest.NewFixture, listings longer than GitHub's
// 100-item page.
func bigFake(t *testing.T) *githubfake.Server {
	f := githubfake.New(t)
	load(f, scmkittest.NewFixture())
	return f
}

// load gives the fake fx's organizations, users and repositories.
func load(f *githubfake.Server, fx scmkittest.Fixture) {
	f.AddOrgs(fx.Orgs...)
	f.AddUsers(fx.Users...)
	for _, r := range fx.Repos {
		f.AddRepos(githubfake.Repo{Owner: r.Owner, Name: r.Name, DefaultBranch: r.DefaultBranch, Private: r.Private, Branches: r.Branches, Tags: r.Tags})
	}
}

// TestDiscoverPagesToTheEnd reads every listing to its end through
// discovery pages that do not line up with GitHub's, every GitHub page
// asked with per_page=100 (scmkittest.CheckPagesToTheEnd; a discovery page
// ending inside a GitHub page reads that page again and skips what it
// returned).
func TestDiscoverPagesToTheEnd(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	scmkittest.CheckPagesToTheEnd(t, scmkittest.Paging{Provider: "GitHub", Queries: f.Queries, SizeParam: "per_page", PerPage: 100,
		Connect: func(t *testing.T, owner string) connectors.Discoverer {
			return newConnector(t, f, owner, githubfake.UserToken)
		}})
}

// TestDiscoverFilters: namePattern keeps the matching names across pages; a
// repository's pattern also matches its name without the owner.
func TestDiscoverFilters(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	c := newConnector(t, f, "acme", githubfake.UserToken)
	scmkittest.CheckFilters(t, c, githubfake.Tokens, []scmkittest.Filter{
		{Name: "repositories by name", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 2, Filter: contracts.DiscoveryFilter{NamePattern: "repo-2[34]?"}},
			Want: scmkittest.Range("acme/repo-", 230, 250)},
		{Name: "repositories by full name", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Filter: contracts.DiscoveryFilter{NamePattern: "acme/repo-00?"}},
			Want: scmkittest.Range("acme/repo-", 0, 10)},
		{Name: "organizations", Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Filter: contracts.DiscoveryFilter{NamePattern: "org-12?"}},
			Want: scmkittest.Range("org-", 120, 129)},
		{Name: "tags", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, PageSize: 3, Filter: contracts.DiscoveryFilter{Repository: "repo-000", NamePattern: "v22?"}},
			Want: scmkittest.Range("v", 220, 230)},
	}...)
}

// TestDiscoverRefusals: what GitHub or the connector refuses carries the
// code that decides the retry, and no token.
func TestDiscoverRefusals(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	scmkittest.CheckRefusals(t, func(t *testing.T, owner, token string) connectors.Discoverer { return newConnector(t, f, owner, token) }, githubfake.Tokens,
		[]scmkittest.Refusal{
			{Name: "a token GitHub does not know", Owner: "acme", Token: githubfake.WrongToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
			{Name: "an unknown owner", Owner: "nobody-here", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
			{Name: "an unknown repository", Owner: "acme", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceBranches, Filter: contracts.DiscoveryFilter{Repository: "acme/nope"}}, Want: resilience.ResourceNotFound},
			{Name: "a private repository without a token", Owner: "acme", Token: "", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "repo-007"}}, Want: resilience.ResourceNotFound},
			{Name: "organizations of an installation token", Owner: "acme", Token: githubfake.InstallToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects}, Want: resilience.PermissionDenied},
			{Name: "branches without a repository", Owner: "", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceBranches}, Want: resilience.InvalidConfig},
			{Name: "a repository name without owner and no owner set", Owner: "", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "app"}}, Want: resilience.InvalidConfig},
			{Name: "a repository path that climbs", Owner: "acme", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "acme/.."}}, Want: resilience.InvalidConfig},
			{Name: "a cursor that is not ours", Owner: "acme", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Cursor: "not-a-cursor!"}, Want: resilience.InvalidConfig},
			{Name: "a cursor naming page 0", Owner: "acme", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Cursor: scmkittest.Cursor(`{"q":"0"}`)}, Want: resilience.InvalidConfig},
			{Name: "a cursor naming a page that is not a number", Owner: "acme", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Cursor: scmkittest.Cursor(`{"q":"x"}`)}, Want: resilience.InvalidConfig},
			{Name: "a cursor naming an owner kind", Owner: "acme", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: scmkittest.Cursor(`{"q":"2","k":"team"}`)}, Want: resilience.InvalidConfig},
			{Name: "a bad name pattern", Owner: "acme", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Filter: contracts.DiscoveryFilter{NamePattern: "[a-"}}, Want: resilience.InvalidConfig},
			{Name: "an undeclared resource type", Owner: "acme", Token: githubfake.UserToken, Query: connectors.DiscoveryQuery{ResourceType: "pipelines"}, Want: resilience.NotSupported},
		}...)
}

// TestRateLimits: each of GitHub's rate-limit answers is RATE_LIMITED with
// the wait GitHub asked for, and the hub's retry policy waits exactly that
// and then succeeds.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit githubfake.Limit
		wait  time.Duration
	}{
		{"429 with Retry-After", githubfake.Limit{Status: http.StatusTooManyRequests, RetryAfter: 7, ResetIn: 3600}, 7 * time.Second},
		{"primary limit, 403 with remaining 0", githubfake.Limit{Status: http.StatusForbidden, Primary: true, ResetIn: 120}, 120 * time.Second},
		{"primary limit, 429 with remaining 0", githubfake.Limit{Status: http.StatusTooManyRequests, Primary: true, ResetIn: 45}, 45 * time.Second},
		{"secondary limit, 403 with only the message", githubfake.Limit{Status: http.StatusForbidden, ResetIn: 3600}, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := bigFake(t)
			c := newConnector(t, f, "acme", githubfake.UserToken)
			q := connectors.DiscoveryQuery{ResourceType: ResourceBranches, Filter: contracts.DiscoveryFilter{Repository: "repo-000"}}
			f.LimitNext(tc.limit)
			_, err := c.Discover(ctxT(t), q)
			checkCode(t, err, resilience.RateLimited)
			if got := resilience.RetryAfterOf(err); got != tc.wait {
				t.Fatalf("RetryAfterOf = %s, want %s", got, tc.wait)
			}
			f.LimitNext(tc.limit)
			var page connectors.DiscoveryPage
			timer, err := connectortest.Retry(ctxT(t), func(ctx context.Context) error {
				var err error
				page, err = c.Discover(ctx, q)
				return err
			})
			checkCode(t, err, "")
			if w := timer.Waits(); len(w) != 1 || w[0] < tc.wait {
				t.Fatalf("retry waits %v, want one of at least %s", w, tc.wait)
			}
			if len(page.Items) != 100 {
				t.Fatalf("after the wait: %d branches, want 100", len(page.Items))
			}
		})
	}
}

// TestChecks: the health levels against GitHub's answers.
func TestChecks(t *testing.T) {
	t.Parallel()
	f, private := bigFake(t), bigFake(t)
	private.PrivateMode()
	tests := []struct {
		name         string
		private      bool
		owner, token string
		level        contracts.CheckType
		want         resilience.Code
	}{
		{"connectivity sends no token", false, "acme", githubfake.WrongToken, contracts.CheckConnectivity, ""},
		{"connectivity of a private Enterprise Server, which answers 401", true, "acme", githubfake.UserToken, contracts.CheckConnectivity, ""},
		{"a private Enterprise Server reads the token", true, "acme", githubfake.UserToken, contracts.CheckFunctionality, ""},
		{"a user token", false, "acme", githubfake.UserToken, contracts.CheckAuthentication, ""},
		{"an installation token has no user but is valid", false, "acme", githubfake.InstallToken, contracts.CheckAuthentication, ""},
		{"a wrong token", false, "acme", githubfake.WrongToken, contracts.CheckAuthentication, resilience.AuthenticationFailed},
		{"no token", false, "acme", "", contracts.CheckAuthentication, resilience.AuthenticationFailed},
		{"one repository of the owner", false, "acme", githubfake.UserToken, contracts.CheckFunctionality, ""},
		{"one repository of the token's user", false, "", githubfake.UserToken, contracts.CheckFunctionality, ""},
		{"an unknown owner", false, "nobody-here", githubfake.UserToken, contracts.CheckFunctionality, resilience.ResourceNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			server := f
			if tc.private {
				server = private
			}
			c := newConnector(t, server, tc.owner, tc.token)
			err := connectortest.Level(tc.level, c)(ctxT(t))
			checkCode(t, err, tc.want)
		})
	}
}

// TestSpentLimitIsKnownBeforeCalling: after an answer saying the limit is
// spent, go-github refuses the next call without sending it; that is
// RATE_LIMITED until the reset GitHub named, as a 403 from GitHub would be.
func TestSpentLimitIsKnownBeforeCalling(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	// go-github compares the reset with the real clock.
	f.Now = time.Now().Truncate(time.Second)
	c := newConnector(t, f, "acme", githubfake.UserToken)
	q := connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "repo-000"}}
	f.SpendNext(1)
	_, err := c.Discover(ctxT(t), q)
	checkCode(t, err, "")
	const route = "GET /repos/{owner}/{repo}/tags"
	before := f.Calls(route)
	_, err = c.Discover(ctxT(t), q)
	checkCode(t, err, resilience.RateLimited)
	if got := resilience.RetryAfterOf(err); got != 90*time.Second {
		t.Fatalf("RetryAfterOf = %s, want 90s (the reset GitHub named)", got)
	}
	if n := f.Calls(route) - before; n != 0 {
		t.Fatalf("%d calls while the limit was known to be spent, want none", n)
	}
}

// TestEnterpriseServerAPIPath: a GitHub Enterprise Server's API root
// (https://HOST/api/v3) keeps its path in every request, checks and
// discovery alike; a request outside it would be a 404.
func TestEnterpriseServerAPIPath(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	ghes := httptest.NewServer(http.StripPrefix("/api/v3", f.Config.Handler))
	t.Cleanup(ghes.Close)
	c := connectortest.NewConnector(t, connectortest.Setup{Spec: Spec, URL: ghes.URL + "/api/v3", Config: map[string]any{"owner": "acme"},
		EnvVar: credEnv, Secret: connectortest.TokenSecret(githubfake.UserToken)}).(*Connector)
	for _, check := range []func(context.Context) error{c.CheckConnectivity, c.CheckAuthentication, c.CheckFunctionality} {
		checkCode(t, check(ctxT(t)), "")
	}
	got, err := discoverAll(t, c, connectors.DiscoveryQuery{ResourceType: ResourceBranches, PageSize: 60, Filter: contracts.DiscoveryFilter{Repository: "repo-000"}})
	checkCode(t, err, "")
	if len(got.Names) != 150 {
		t.Fatalf("discovered %d branches, want 150", len(got.Names))
	}
}

// The connector tests' shared helpers: the call context and discovery to
// the end of a listing.
var (
	ctxT        = connectortest.CallContext
	discoverAll = connectortest.DiscoverEverything
)
