// Package scmkittest holds the discovery tests the SCM providers built on
// scmkit (GitHub, Gitea) share: each provider's fake holds the same
// repositories (Fixture), so the same table proves each connector reads
// every listing to its end through the provider's own page size.
package scmkittest

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Names is prefix000 … prefix(n-1).
func Names(prefix string, n int) []string { return Range(prefix, 0, n) }

// Range is prefix(from) … prefix(to-1), numbered with three digits.
func Range(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%03d", prefix, i))
	}
	return out
}

// Full is each of names under owner (owner/name).
func Full(owner string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = owner + "/" + n
	}
	return out
}

// Repo is one repository of the Fixture.
type Repo struct {
	Owner, Name, DefaultBranch string
	Private                    bool
	Branches, Tags             []string
}

// Fixture is what a fake under these tests holds.
type Fixture struct {
	// Orgs are the organizations the token's user belongs to.
	Orgs []string
	// Users are users besides the token's.
	Users []string
	Repos []Repo
}

// NewFixture is organization acme and org-000 … org-128, user mona,
// acme/repo-000 … repo-249 (repo-007 private; default branch main),
// mona/dot-000 … dot-119 (trunk), and acme/repo-000's branches b-000 …
// b-149 and tags v000 … v229.
func NewFixture() Fixture {
	f := Fixture{Orgs: append([]string{"acme"}, Names("org-", 129)...), Users: []string{"mona"}}
	for _, n := range Names("repo-", 250) {
		f.Repos = append(f.Repos, Repo{Owner: "acme", Name: n, DefaultBranch: "main", Private: n == "repo-007"})
	}
	for _, n := range Names("dot-", 120) {
		f.Repos = append(f.Repos, Repo{Owner: "mona", Name: n, DefaultBranch: "trunk"})
	}
	f.Repos[0].Branches, f.Repos[0].Tags = Names("b-", 150), Names("v", 230)
	return f
}

// Paging is how a provider under CheckPagesToTheEnd is reached and read.
type Paging struct {
	// Provider names it in failures ("GitHub").
	Provider string
	// Connect builds a connector of the fake holding NewFixture, for the
	// configured owner ("" none).
	Connect func(t *testing.T, owner string) connectors.Discoverer
	// Queries are the queries the fake's route got so far.
	Queries func(route string) []url.Values
	// SizeParam and PerPage are the page size parameter every provider
	// page must be asked with ("per_page", 100).
	SizeParam string
	PerPage   int
}

// CheckPagesToTheEnd reads every listing of the Fixture to its end through
// discovery pages that do not line up with the provider's: nothing lost,
// nothing twice, every provider page asked with p.SizeParam=p.PerPage, and
// no provider page beyond the listing's. The cases run one after the other:
// the fake records queries per route.
func CheckPagesToTheEnd(t *testing.T, p Paging) {
	t.Helper()
	tests := []struct {
		name  string
		owner string
		q     connectors.DiscoveryQuery
		want  []string
		route string
	}{
		{"organizations", "acme", connectors.DiscoveryQuery{ResourceType: "projects", PageSize: 30},
			append([]string{"acme"}, Names("org-", 129)...), "GET /user/orgs"},
		{"repositories of an organization", "acme", connectors.DiscoveryQuery{ResourceType: "repositories", PageSize: 30},
			Full("acme", Names("repo-", 250)), "GET /orgs/{org}/repos"},
		{"repositories of a user", "mona", connectors.DiscoveryQuery{ResourceType: "repositories", PageSize: 45},
			Full("mona", Names("dot-", 120)), "GET /users/{username}/repos"},
		{"every repository the token reads", "", connectors.DiscoveryQuery{ResourceType: "repositories", PageSize: 1000},
			append(Full("acme", Names("repo-", 250)), Full("mona", Names("dot-", 120))...), "GET /user/repos"},
		{"branches", "acme", connectors.DiscoveryQuery{ResourceType: "branches", PageSize: 7, Filter: contracts.DiscoveryFilter{Repository: "repo-000"}},
			Names("b-", 150), "GET /repos/{owner}/{repo}/branches"},
		{"tags", "", connectors.DiscoveryQuery{ResourceType: "tags", PageSize: 100, Filter: contracts.DiscoveryFilter{Repository: "acme/repo-000"}},
			Names("v", 230), "GET /repos/{owner}/{repo}/tags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: the fake records queries per route.
			before := len(p.Queries(tc.route))
			got, err := connectortest.DiscoverEverything(t, p.Connect(t, tc.owner), tc.q)
			connectortest.CheckCode(t, err, "")
			if !slices.Equal(got.Names, tc.want) {
				t.Fatalf("discovered %d names %v…, want the %d in order", len(got.Names), got.Names[:min(5, len(got.Names))], len(tc.want))
			}
			pages := map[string]bool{}
			for _, q := range p.Queries(tc.route)[before:] {
				if q.Get(p.SizeParam) != fmt.Sprint(p.PerPage) {
					t.Fatalf("a page asked with %s=%q", p.SizeParam, q.Get(p.SizeParam))
				}
				pages[q.Get("page")] = true
			}
			if want := (len(tc.want) + p.PerPage - 1) / p.PerPage; len(pages) != want {
				t.Fatalf("%s pages %v of %s asked, want %d", p.Provider, slices.Sorted(maps.Keys(pages)), tc.route, want)
			}
		})
	}
}

// ConformanceFixture is the conformance suite's data: organizations acme,
// team-00 … team-05, org-06 … org-10 (12); acme's repositories app,
// api-00 … api-05, svc-06 … svc-10 (12, app private); app's branches main,
// release/0 … release/3, feature-05 … feature-11 and tags v1.0 … v1.8,
// v2.0 … v2.2. ConformanceDiscovery is what the suite checks of it.
func ConformanceFixture() Fixture {
	f := Fixture{Orgs: []string{"acme"}, Repos: []Repo{{Owner: "acme", Name: "app", Private: true, DefaultBranch: "main"}}}
	for i := 0; i < 11; i++ {
		org, repo := fmt.Sprintf("org-%02d", i), fmt.Sprintf("svc-%02d", i)
		if i < 6 {
			org, repo = fmt.Sprintf("team-%02d", i), fmt.Sprintf("api-%02d", i)
		}
		f.Orgs = append(f.Orgs, org)
		f.Repos = append(f.Repos, Repo{Owner: "acme", Name: repo, DefaultBranch: "main"})
	}
	app := &f.Repos[0]
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
	return f
}

// ConformanceDiscovery is the discovery the conformance suite checks of
// ConformanceFixture, with acme as the configured owner.
func ConformanceDiscovery() []connectortest.Discovery {
	app := contracts.DiscoveryFilter{Repository: "acme/app"}
	return []connectortest.Discovery{
		{ResourceType: "projects", PageSize: 5, Total: 12, NamePattern: "team-*", Matching: 6},
		{ResourceType: "repositories", PageSize: 5, Total: 12, NamePattern: "api-*", Matching: 6},
		{ResourceType: "branches", Scope: app, PageSize: 5, Total: 12, NamePattern: "release/*", Matching: 4},
		{ResourceType: "tags", Scope: app, PageSize: 5, Total: 12, NamePattern: "v2.*", Matching: 3},
	}
}

// Filter is a discovery query of the Fixture and the names it finds
// across all its pages.
type Filter struct {
	Name  string
	Query connectors.DiscoveryQuery
	Want  []string
}

// CheckFilters reads every case to its end through d, each a parallel
// subtest, and checks the names found; no error text may hold any of
// secrets.
func CheckFilters(t *testing.T, d connectors.Discoverer, secrets []string, cases ...Filter) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			got, err := connectortest.DiscoverEverything(t, d, tc.Query)
			connectortest.CheckCode(t, err, "", secrets...)
			if !slices.Equal(got.Names, tc.Want) {
				t.Fatalf("discovered %v, want %v", got.Names, tc.Want)
			}
		})
	}
}

// Refusal is a discovery query a connector configured with Owner and
// Token refuses, and the code it refuses with.
type Refusal struct {
	Name         string
	Owner, Token string
	Query        connectors.DiscoveryQuery
	Want         resilience.Code
}

// CheckRefusals checks each case's code on a connector connect builds for
// its owner and token, each a parallel subtest; no error text may hold any
// of secrets.
func CheckRefusals(t *testing.T, connect func(t *testing.T, owner, token string) connectors.Discoverer, secrets []string, cases ...Refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			_, err := connect(t, tc.Owner, tc.Token).Discover(connectortest.CallContext(t), tc.Query)
			connectortest.CheckCode(t, err, tc.Want, secrets...)
		})
	}
}

// Cursor is v as a discovery cursor (base64url, as kit encodes them), to
// forge ones the connector must refuse.
func Cursor(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
