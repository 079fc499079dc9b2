package dockerregistry

import (
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// tokenTTL is the expires_in of the test token server.
const tokenTTL = 10 * time.Minute

// TestBearerTokenFlow runs the checks and discovery against a real
// docker-registry configured with auth.token, whose tokens come from a
// token server in the test (ES256 JWTs, x5c certificate trusted as the
// registry's rootcertbundle).
func TestBearerTokenFlow(t *testing.T) {
	t.Parallel()
	// ci may pull repositories but not read the catalog, as many registries
	// keep it for admins.
	const ci, ciPassword = "ci", "ci-pass"
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{
		Users: map[string]string{user: password, ci: ciPassword}, TokenAuth: true, TokenTTL: tokenTTL,
		TokenGrant: func(subject string, a testsvc.Access) bool { return subject != ci || a.Type == "repository" },
		// go-containerregistry refuses a token realm at a loopback or
		// private IP other than the registry's own host (SSRF guard).
		TokenRealmHost: "localhost",
	})
	repos := []string{"team/api", "team/web", "tools/ci"}
	digests := reg.PushAll(t, repos, "v1", "v2")
	catalogToken := reg.Token.Mint(user, testsvc.Access{Type: "registry", Name: "catalog", Actions: []string{"*"}})
	foreign := testsvc.StartTokenServer(t, testsvc.TokenServerOptions{}).Mint(user, testsvc.Access{Type: "registry", Name: "catalog", Actions: []string{"*"}})

	checks := []struct {
		name   string
		level  contracts.CheckType
		secret string
		noRef  bool
		want   resilience.Code
	}{
		{"connectivity answers the challenge", contracts.CheckConnectivity, "", true, ""},
		{"authentication", contracts.CheckAuthentication, basicSecret(user, password), false, ""},
		{"authentication with a wrong password", contracts.CheckAuthentication, basicSecret(user, "wrong"), false, resilience.AuthenticationFailed},
		{"anonymous authentication gets an anonymous token", contracts.CheckAuthentication, "", true, ""},
		{"functionality", contracts.CheckFunctionality, basicSecret(user, password), false, ""},
		{"functionality with a wrong password", contracts.CheckFunctionality, basicSecret(user, "wrong"), false, resilience.AuthenticationFailed},
		{"anonymous functionality lacks the catalog scope", contracts.CheckFunctionality, "", true, resilience.AuthenticationFailed},
		{"functionality with a static token", contracts.CheckFunctionality, `{"token":"` + catalogToken + `"}`, false, ""},
		{"functionality with a token of another issuer", contracts.CheckFunctionality, `{"token":"` + foreign + `"}`, false, resilience.AuthenticationFailed},
		{"functionality with a static token lacking the scope", contracts.CheckFunctionality, `{"token":"` + reg.Token.Mint(user) + `"}`, false, resilience.PermissionDenied},
		{"authentication of a user without catalog access", contracts.CheckAuthentication, basicSecret(ci, ciPassword), false, ""},
		{"functionality of a user without catalog access", contracts.CheckFunctionality, basicSecret(ci, ciPassword), false, resilience.PermissionDenied},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newConnector(t, setup{url: reg.URL, secret: tc.secret, noRef: tc.noRef})
			checkCode(t, levels(t)[tc.level](c), tc.want, password, ciPassword, "wrong", catalogToken, foreign)
		})
	}

	t.Run("discovery", func(t *testing.T) {
		t.Parallel()
		c, _ := newConnector(t, setup{url: reg.URL, config: map[string]any{"resolveDigests": true}, secret: basicSecret(user, password)})
		got, err := discoverAll(t, c, connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 2})
		checkCode(t, err, "")
		if !slices.Equal(got.names, repos) || !slices.Equal(got.pageSizes, []int{2, 1}) {
			t.Fatalf("repositories %v in pages %v, want %v in pages [2 1]", got.names, got.pageSizes, repos)
		}
		got, err = discoverAll(t, c, connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "team/web"}})
		checkCode(t, err, "")
		for _, r := range got.resources {
			if r.Attributes["digest"] != digests["team/web"][r.Name] {
				t.Fatalf("%s: digest %v, want %s", r.Name, r.Attributes["digest"], digests["team/web"][r.Name])
			}
		}
		if !slices.Equal(got.names, []string{"v1", "v2"}) {
			t.Fatalf("tags %v", got.names)
		}
	})
	t.Run("a user without catalog access still lists tags", func(t *testing.T) {
		t.Parallel()
		c, _ := newConnector(t, setup{url: reg.URL, secret: basicSecret(ci, ciPassword)})
		got, err := discoverAll(t, c, connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: "tools/ci"}})
		checkCode(t, err, "")
		if !slices.Equal(got.names, []string{"v1", "v2"}) {
			t.Fatalf("tags %v", got.names)
		}
		_, err = c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories})
		checkCode(t, err, resilience.PermissionDenied, ciPassword)
	})
}

// TestBearerTokenCache counts the token server's requests: a token serves
// its scope until its expires_in, a scope needs its own, the authentication
// check always fetches anew, and a token the registry refuses is replaced.
func TestBearerTokenCache(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{user: password}, TokenAuth: true, TokenTTL: tokenTTL, TokenRealmHost: "localhost"})
	reg.PushAll(t, []string{"team/api", "team/web"}, "v1", "v2", "v3")
	c, _ := newConnector(t, setup{url: reg.URL, config: map[string]any{"resolveDigests": true}, secret: basicSecret(user, password)})
	clock := &fakeClock{now: time.Now()}
	c.V2.SetClock(clock.Now)
	tagsOf := func(repo string) func(t *testing.T) {
		return func(t *testing.T) {
			page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: repo}})
			checkCode(t, err, "")
			if len(page.Items) != 3 || page.Items[0].Attributes["digest"] == nil {
				t.Fatalf("tags of %s: %+v", repo, page.Items)
			}
		}
	}
	steps := []struct {
		name     string
		run      func(t *testing.T)
		requests int // token requests so far
	}{
		{"tags and three digests share one token", tagsOf("team/api"), 1},
		{"the same scope again uses the cache", tagsOf("team/api"), 1},
		{"another repository needs its own scope", tagsOf("team/web"), 2},
		{"authentication fetches anew", func(t *testing.T) { checkCode(t, c.CheckAuthentication(ctxT(t)), "") }, 3},
		{"and anew again", func(t *testing.T) { checkCode(t, c.CheckAuthentication(ctxT(t)), "") }, 4},
		{"just before expires_in the token still serves", func(t *testing.T) { clock.Advance(tokenTTL - time.Second); tagsOf("team/api")(t) }, 4},
		{"at expires_in it is replaced", func(t *testing.T) { clock.Advance(time.Second); tagsOf("team/api")(t) }, 5},
		{"a token the registry refuses is replaced", func(t *testing.T) {
			auth, err := c.RegistryAuth(ctxT(t))
			checkCode(t, err, "")
			checkCode(t, c.V2.CacheToken(ctxT(t), auth, "team/web", "not-a-jwt", time.Hour), "")
			tagsOf("team/web")(t)
		}, 6},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.run(t)
			if got := reg.Token.Requests(); got != st.requests {
				t.Fatalf("%d token requests, want %d (scopes %q)", got, st.requests, reg.Token.Scopes())
			}
		})
	}
}
