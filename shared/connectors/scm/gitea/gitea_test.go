package gitea

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/scm/scmkit/scmkittest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const credEnv = "GITEA_TOKEN"

// newConnector builds a connector for the fake as the runtime does. owner
// "" leaves the field unset; token "" sends none.
func newConnector(t *testing.T, f *fakeGitea, owner, token string) *Connector {
	t.Helper()
	cfg := map[string]any{}
	if owner != "" {
		cfg["owner"] = owner
	}
	return connectortest.NewConnector(t, connectortest.Setup{Spec: Spec, URL: f.srv.URL, Config: cfg, EnvVar: credEnv,
		Secret: connectortest.TokenSecret(token), NoRef: token == ""}).(*Connector)
}

func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	connectortest.CheckCode(t, err, want, allSecrets...)
}

// bigFake holds scmkittest.NewFixture, listings longer than Gitea's
// 50-item page.
func bigFake(t *testing.T) *fakeGitea {
	f := newFakeGitea(t)
	load(f, scmkittest.NewFixture())
	return f
}

// load gives the fake fx's organizations, users and repositories.
func load(f *fakeGitea, fx scmkittest.Fixture) {
	f.addOrgs(fx.Orgs...)
	f.addUsers(fx.Users...)
	for _, r := range fx.Repos {
		f.addRepos(fakeRepo{owner: r.Owner, name: r.Name, defaultBranch: r.DefaultBranch, private: r.Private, branches: r.Branches, tags: r.Tags})
	}
}

// TestDiscoverPagesToTheEnd reads every listing to its end through
// discovery pages that do not line up with Gitea's, every Gitea page asked
// with limit=50 (scmkittest.CheckPagesToTheEnd).
func TestDiscoverPagesToTheEnd(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	scmkittest.CheckPagesToTheEnd(t, scmkittest.Paging{Provider: "Gitea", Queries: f.queriesOf, SizeParam: "limit", PerPage: 50,
		Connect: func(t *testing.T, owner string) connectors.Discoverer { return newConnector(t, f, owner, fakeToken) }})
}

// TestServerVersionReadOnce: the SDK's version check costs one request per
// connector, not one per call.
func TestServerVersionReadOnce(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	c := newConnector(t, f, "acme", fakeToken)
	for range 3 {
		_, err := discoverAll(t, c, connectors.DiscoveryQuery{ResourceType: ResourceProjects, PageSize: 40})
		checkCode(t, err, "")
	}
	checkCode(t, c.CheckAuthentication(ctxT(t)), "")
	if n := f.count("GET /version"); n != 1 {
		t.Fatalf("GET /version %d times, want once", n)
	}
}

// TestDiscoverFilters: namePattern keeps the matching names across pages; a
// repository's pattern also matches its name without the owner.
func TestDiscoverFilters(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	c := newConnector(t, f, "acme", fakeToken)
	scmkittest.CheckFilters(t, c, allSecrets, []scmkittest.Filter{
		{Name: "repositories by name", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 2, Filter: contracts.DiscoveryFilter{NamePattern: "repo-2[34]?"}},
			Want: scmkittest.Range("acme/repo-", 230, 250)},
		{Name: "repositories by full name", Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Filter: contracts.DiscoveryFilter{NamePattern: "acme/repo-00?"}},
			Want: scmkittest.Range("acme/repo-", 0, 10)},
		{Name: "organizations", Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Filter: contracts.DiscoveryFilter{NamePattern: "org-12?"}},
			Want: scmkittest.Range("org-", 120, 129)},
		{Name: "branches", Query: connectors.DiscoveryQuery{ResourceType: ResourceBranches, PageSize: 3, Filter: contracts.DiscoveryFilter{Repository: "repo-000", NamePattern: "b-14?"}},
			Want: scmkittest.Range("b-", 140, 150)},
	}...)
}

// TestDiscoverRefusals: what Gitea or the connector refuses carries the
// code that decides the retry, and no token.
func TestDiscoverRefusals(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	scmkittest.CheckRefusals(t, func(t *testing.T, owner, token string) connectors.Discoverer { return newConnector(t, f, owner, token) }, allSecrets,
		[]scmkittest.Refusal{
			{Name: "a token Gitea does not know", Owner: "acme", Token: wrongToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.AuthenticationFailed},
			{Name: "organizations without a token", Owner: "acme", Token: "", Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects}, Want: resilience.AuthenticationFailed},
			{Name: "an unknown owner", Owner: "nobody-here", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories}, Want: resilience.ResourceNotFound},
			{Name: "an unknown repository", Owner: "acme", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceBranches, Filter: contracts.DiscoveryFilter{Repository: "acme/nope"}}, Want: resilience.ResourceNotFound},
			{Name: "a private repository without a token", Owner: "acme", Token: "", Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "repo-007"}}, Want: resilience.ResourceNotFound},
			{Name: "branches without a repository", Owner: "", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceBranches}, Want: resilience.InvalidConfig},
			{Name: "a repository name without owner and no owner set", Owner: "", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "app"}}, Want: resilience.InvalidConfig},
			{Name: "a repository path that climbs", Owner: "acme", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "acme/.."}}, Want: resilience.InvalidConfig},
			{Name: "a cursor that is not ours", Owner: "acme", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Cursor: "not-a-cursor!"}, Want: resilience.InvalidConfig},
			{Name: "a cursor naming page 0", Owner: "acme", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Cursor: scmkittest.Cursor(`{"q":"0"}`)}, Want: resilience.InvalidConfig},
			{Name: "a cursor naming a page that is not a number", Owner: "acme", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Cursor: scmkittest.Cursor(`{"q":"2&limit=500"}`)}, Want: resilience.InvalidConfig},
			{Name: "a cursor naming an owner kind", Owner: "acme", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceRepositories, Cursor: scmkittest.Cursor(`{"q":"2","k":"team"}`)}, Want: resilience.InvalidConfig},
			{Name: "a bad name pattern", Owner: "acme", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: ResourceProjects, Filter: contracts.DiscoveryFilter{NamePattern: "[a-"}}, Want: resilience.InvalidConfig},
			{Name: "an undeclared resource type", Owner: "acme", Token: fakeToken, Query: connectors.DiscoveryQuery{ResourceType: "pipelines"}, Want: resilience.NotSupported},
		}...)
}

// TestRateLimited: a 429 with Retry-After is RATE_LIMITED carrying the
// wait (the SDK, left alone, would keep only a message), and the hub's
// retry policy waits it and then succeeds.
func TestRateLimited(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	c := newConnector(t, f, "acme", fakeToken)
	q := connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "repo-000"}}
	f.limitNext(1)
	_, err := c.Discover(ctxT(t), q)
	checkCode(t, err, resilience.RateLimited)
	if got := resilience.RetryAfterOf(err); got != retryAfter*time.Second {
		t.Fatalf("RetryAfterOf = %s, want %ds", got, retryAfter)
	}
	f.limitNext(1)
	var page connectors.DiscoveryPage
	timer, err := connectortest.Retry(ctxT(t), func(ctx context.Context) error {
		var err error
		page, err = c.Discover(ctx, q)
		return err
	})
	checkCode(t, err, "")
	if w := timer.Waits(); len(w) != 1 || w[0] < retryAfter*time.Second {
		t.Fatalf("retry waits %v, want one of at least %ds", w, retryAfter)
	}
	if len(page.Items) != 100 {
		t.Fatalf("after the wait: %d tags, want 100", len(page.Items))
	}
}

// TestChecks: the health levels against Gitea's answers.
func TestChecks(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	old := newFakeGitea(t)
	old.version = "1.10.3"
	tests := []struct {
		name         string
		server       *fakeGitea
		owner, token string
		level        contracts.CheckType
		want         resilience.Code
	}{
		{"connectivity sends no token", f, "acme", wrongToken, contracts.CheckConnectivity, ""},
		{"a known token", f, "acme", fakeToken, contracts.CheckAuthentication, ""},
		{"a wrong token", f, "acme", wrongToken, contracts.CheckAuthentication, resilience.AuthenticationFailed},
		{"no token", f, "acme", "", contracts.CheckAuthentication, resilience.AuthenticationFailed},
		{"one repository of an organization", f, "acme", fakeToken, contracts.CheckFunctionality, ""},
		{"one repository of a user", f, "mona", fakeToken, contracts.CheckFunctionality, ""},
		{"one repository of the token's user", f, "", fakeToken, contracts.CheckFunctionality, ""},
		{"an unknown owner", f, "nobody-here", fakeToken, contracts.CheckFunctionality, resilience.ResourceNotFound},
		{"a Gitea older than the SDK supports", old, "acme", fakeToken, contracts.CheckAuthentication, resilience.UpstreamError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t, tc.server, tc.owner, tc.token)
			err := connectortest.Level(tc.level, c)(ctxT(t))
			checkCode(t, err, tc.want)
		})
	}
}

// TestSubPathInstall: Gitea served under a sub-path (ROOT_URL
// https://host/git/) keeps it in every request, the version read included;
// a request outside it would be a 404.
func TestSubPathInstall(t *testing.T) {
	t.Parallel()
	f := bigFake(t)
	sub := httptest.NewServer(http.StripPrefix("/git", f.srv.Config.Handler))
	t.Cleanup(sub.Close)
	c := connectortest.NewConnector(t, connectortest.Setup{Spec: Spec, URL: sub.URL + "/git", Config: map[string]any{"owner": "acme"},
		EnvVar: credEnv, Secret: connectortest.TokenSecret(fakeToken)}).(*Connector)
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
