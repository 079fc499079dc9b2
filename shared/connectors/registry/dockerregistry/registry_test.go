package dockerregistry

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const (
	user     = "alice"
	password = "correct-horse-battery"
)

// checkFunc runs one check level.
type checkFunc func(c *Connector) error

func levels(t *testing.T) map[contracts.CheckType]checkFunc {
	return map[contracts.CheckType]checkFunc{
		contracts.CheckConnectivity:   func(c *Connector) error { return c.CheckConnectivity(ctxT(t)) },
		contracts.CheckAuthentication: func(c *Connector) error { return c.CheckAuthentication(ctxT(t)) },
		contracts.CheckFunctionality:  func(c *Connector) error { return c.CheckFunctionality(ctxT(t)) },
	}
}

// TestChecksAgainstRegistryWithHtpasswd runs the three levels against a real
// docker-registry with basic auth.
func TestChecksAgainstRegistryWithHtpasswd(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{user: password}})
	reg.Push(t, "team/app", "v1")

	tests := []struct {
		name   string
		level  contracts.CheckType
		secret string
		noRef  bool
		want   resilience.Code
	}{
		{"connectivity without credentials", contracts.CheckConnectivity, "", true, ""},
		{"connectivity ignores a wrong password", contracts.CheckConnectivity, basicSecret(user, "wrong"), false, ""},
		{"authentication", contracts.CheckAuthentication, basicSecret(user, password), false, ""},
		{"authentication with user:password value", contracts.CheckAuthentication, user + ":" + password, false, ""},
		{"authentication with a wrong password", contracts.CheckAuthentication, basicSecret(user, "wrong"), false, resilience.AuthenticationFailed},
		{"authentication with an unknown user", contracts.CheckAuthentication, basicSecret("mallory", password), false, resilience.AuthenticationFailed},
		{"authentication without credentials", contracts.CheckAuthentication, "", true, resilience.AuthenticationFailed},
		{"authentication with an unset variable", contracts.CheckAuthentication, "", false, resilience.CredentialFetchFailed},
		{"functionality", contracts.CheckFunctionality, basicSecret(user, password), false, ""},
		{"functionality with a wrong password", contracts.CheckFunctionality, basicSecret(user, "wrong"), false, resilience.AuthenticationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newConnector(t, setup{url: reg.URL, secret: tc.secret, noRef: tc.noRef})
			start := time.Now()
			err := levels(t)[tc.level](c)
			t.Logf("%s took %s", tc.level, time.Since(start))
			checkCode(t, err, tc.want, password, "wrong")
		})
	}
}

// TestOutageAndRecovery stops the registry: every level says
// CONNECTION_REFUSED; restarted on its port with its storage, all pass.
func TestOutageAndRecovery(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{user: password}})
	reg.Push(t, "team/app", "v1")
	c, _ := newConnector(t, setup{url: reg.URL, secret: basicSecret(user, password)})
	order := contracts.CheckTypes

	phases := []struct {
		name   string
		before func(t testing.TB)
		want   resilience.Code
	}{
		{"running", func(testing.TB) {}, ""},
		{"stopped", reg.Stop, resilience.ConnectionRefused},
		{"restarted", reg.Start, ""},
	}
	for _, ph := range phases {
		ph.before(t)
		for _, level := range order {
			t.Run(ph.name+"/"+string(level), func(t *testing.T) {
				checkCode(t, levels(t)[level](c), ph.want, password)
			})
		}
	}
	page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "team/app"}})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "v1" {
		t.Fatalf("after the restart the registry lost its storage: %+v, %v", page, err)
	}
}

// The content of the discovery registry: 30 repositories in two
// namespaces, 3 tags each.
var (
	testTags  = []string{"1.0.0", "1.1.0", "latest"}
	testRepos = func() []string {
		var repos []string
		for i := range 30 {
			team := "alpha"
			if i >= 15 {
				team = "beta"
			}
			repos = append(repos, fmt.Sprintf("%s/svc-%02d", team, i))
		}
		return repos
	}()
)

func reposWhere(keep func(string) bool) []string {
	var out []string
	for _, r := range testRepos {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// TestDiscoveryAgainstRegistry discovers a real registry's 30 repositories
// and their tags with page size 7, so the catalog's Link pagination runs.
func TestDiscoveryAgainstRegistry(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{user: password}})
	start := time.Now()
	digests := reg.PushAll(t, testRepos, testTags...)
	t.Logf("pushed %d repositories with %d tags each in %s", len(testRepos), len(testTags), time.Since(start))
	right := basicSecret(user, password)

	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	tests := []struct {
		name   string
		config map[string]any
		secret string
		q      query
		want   []string
		pages  []int // page sizes, when they matter
		// requests counts the HTTP requests in all, when they matter: one
		// GET /v2/ (the auth challenge, cached by the connector) and the
		// listing's and digests' own.
		requests int
		digests  string
		code     resilience.Code
	}{
		{name: "all repositories, 7 a page", q: query{ResourceType: ResourceRepositories, PageSize: 7},
			want: testRepos, pages: []int{7, 7, 7, 7, 2}, requests: 1 + 5},
		{name: "repositories in one page", q: query{ResourceType: ResourceRepositories, PageSize: 100},
			want: testRepos, pages: []int{30}, requests: 1 + 1},
		{name: "repositories matching beta/*", q: query{ResourceType: ResourceRepositories, PageSize: 7, Filter: filter{NamePattern: "beta/*"}},
			want: reposWhere(func(r string) bool { return r >= "beta/" })},
		{name: "repositories matching */svc-0?", q: query{ResourceType: ResourceRepositories, PageSize: 7, Filter: filter{NamePattern: "*/svc-0?"}},
			want: reposWhere(func(r string) bool { return r < "alpha/svc-10" })},
		{name: "repositories matching nothing", q: query{ResourceType: ResourceRepositories, PageSize: 7, Filter: filter{NamePattern: "gamma/*"}}},
		{name: "tags", q: query{ResourceType: ResourceTags, PageSize: 7, Filter: filter{Repository: "alpha/svc-03"}},
			want: testTags, requests: 1 + 1},
		// Debian's registry ignores n: its one answer holds every tag, and
		// the next pages are cut from it, not read again.
		{name: "tags one a page, the registry's one answer read once", q: query{ResourceType: ResourceTags, PageSize: 1, Filter: filter{Repository: "alpha/svc-04"}},
			want: testTags, pages: []int{1, 1, 1}, requests: 1 + 1},
		{name: "tags with digests", config: map[string]any{"resolveDigests": true},
			q:    query{ResourceType: ResourceTags, Filter: filter{Repository: "beta/svc-29"}},
			want: testTags, digests: "beta/svc-29", requests: 1 + 4},
		{name: "tags matching 1.*", q: query{ResourceType: ResourceTags, Filter: filter{Repository: "alpha/svc-00", NamePattern: "1.*"}},
			want: []string{"1.0.0", "1.1.0"}},
		{name: "tags of the configured repository", config: map[string]any{"repository": "beta/svc-20"},
			q: query{ResourceType: ResourceTags}, want: testTags},
		{name: "tags without a repository", q: query{ResourceType: ResourceTags}, code: resilience.InvalidConfig},
		{name: "tags of an unknown repository", q: query{ResourceType: ResourceTags, Filter: filter{Repository: "alpha/nope"}}, code: resilience.ResourceNotFound},
		{name: "tags of an invalid name", q: query{ResourceType: ResourceTags, Filter: filter{Repository: "../v2/_catalog"}}, code: resilience.InvalidConfig},
		{name: "unknown resource type", q: query{ResourceType: "pipelines"}, code: resilience.NotSupported},
		{name: "bad cursor", q: query{ResourceType: ResourceRepositories, Cursor: "%%%"}, code: resilience.InvalidConfig},
		{name: "bad pattern", q: query{ResourceType: ResourceRepositories, Filter: filter{NamePattern: "alpha/["}}, code: resilience.InvalidConfig},
		{name: "wrong password", secret: basicSecret(user, "wrong"), q: query{ResourceType: ResourceRepositories}, code: resilience.AuthenticationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.secret == "" {
				tc.secret = right
			}
			c, requests := newConnector(t, setup{url: reg.URL, config: tc.config, secret: tc.secret})
			got, err := discoverAll(t, c, tc.q)
			checkCode(t, err, tc.code, password)
			if tc.code != "" {
				return
			}
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got.names, want) {
				t.Fatalf("discovered %v, want %v", got.names, want)
			}
			for i, n := range got.pageSizes {
				size := tc.q.PageSize
				if size == 0 {
					size = 100 // the OCI core's default page size
				}
				if n > size {
					t.Fatalf("page %d holds %d items, more than the page size %d", i, n, size)
				}
			}
			if tc.pages != nil && !slices.Equal(got.pageSizes, tc.pages) {
				t.Fatalf("page sizes %v, want %v", got.pageSizes, tc.pages)
			}
			if tc.requests != 0 && int(requests.n.Load()) != tc.requests {
				t.Fatalf("%d HTTP requests, want %d", requests.n.Load(), tc.requests)
			}
			for _, r := range got.resources {
				d, has := r.Attributes["digest"]
				switch {
				case tc.digests == "" && has:
					t.Fatalf("%s has a digest without resolveDigests", r.Name)
				case tc.digests != "" && d != digests[tc.digests][r.Name]:
					t.Fatalf("%s has digest %v, want %s", r.Name, d, digests[tc.digests][r.Name])
				}
				if r.Type != tc.q.ResourceType {
					t.Fatalf("resource type %q", r.Type)
				}
			}
		})
	}
}
