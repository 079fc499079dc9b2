package cli_test

import (
	"slices"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/acr/acrfake"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerhub/dockerhubfake"
	"github.com/stella-ops/inthub/shared/connectors/registry/ecr/ecrfake"
	"github.com/stella-ops/inthub/shared/connectors/registry/gcr"
	"github.com/stella-ops/inthub/shared/connectors/registry/gcr/gcrfake"
	"github.com/stella-ops/inthub/shared/connectors/registry/ghcr/ghcrfake"
	"github.com/stella-ops/inthub/shared/connectors/registry/harbor/harborfake"
	"github.com/stella-ops/inthub/shared/connectors/registry/jfrog/jfrogfake"
	"github.com/stella-ops/inthub/shared/connectors/registry/nexus/nexusfake"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
	"github.com/stella-ops/inthub/shared/connectors/registry/quay"
	"github.com/stella-ops/inthub/shared/connectors/registry/quay/quayfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// registryRow is one registry type driven through the CLI: start puts
// its endpoint up (a real registry, or the vendor's fake in front of one)
// and returns the create flags, the repository whose tags are discovered,
// and what discovery must find.
type registryRow struct {
	provider string
	start    func(t *testing.T, h *hub) registrySetup
}

type registrySetup struct {
	config []string // --config pairs
	// authref is the credential reference ("" for anonymous access).
	authref  string
	repos    []string // every repository discovery must list
	tagsOf   string   // the repository of the tags discovery
	wantTags []string
}

// TestRegistryTypesThroughTheCLI runs `stella config integrations create`,
// `test` (all three levels pass) and `discover` (repositories, then tags
// newest first) against the devstack for each registry type, each on its
// real endpoint: Debian's docker-registry where the vendor speaks the
// registry API v2.
//
// The vendor rows run the vendor's exported fake (<vendor>/<vendor>fake,
// the one its own tests use) in front of a real docker-registry with token
// auth; each row's credential is a local secret of the tenant set to what
// the fake accepts (hub.secret).
func TestRegistryTypesThroughTheCLI(t *testing.T) {
	t.Parallel()
	rows := []registryRow{
		{provider: "docker-registry", start: func(t *testing.T, _ *hub) registrySetup {
			// No auth: every local secret of the test hub has one value, which
			// is no registry credential; anonymous access passes the three
			// levels on a registry that needs none.
			reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{})
			reg.PushAll(t, []string{"team/api", "team/web"}, "1.0.0", "1.10.0", "1.9.2", "latest")
			return registrySetup{config: []string{"url=" + reg.URL}, repos: []string{"team/api", "team/web"}, tagsOf: "team/web",
				wantTags: []string{"1.0.0", "1.10.0", "1.9.2", "latest"}}
		}},
		{provider: "quay", start: func(t *testing.T, h *hub) registrySetup {
			reg := ocitest.StartRegistry(t, map[string]string{quay.OAuthUser: quayfake.APIToken})
			reg.PushAll(t, ocitest.Prefixed(quayfake.Namespace, []string{"api", "web"}), "1.0.0", "1.10.0", "1.9.2", "latest")
			f := quayfake.Start(t, reg.URL, []string{"api", "web"}, 1)
			return registrySetup{config: []string{"url=" + f.Server.URL, "namespace=" + quayfake.Namespace},
				authref: h.secret(t, "QUAY", `{"token":"`+quayfake.APIToken+`"}`),
				repos:   ocitest.Prefixed(quayfake.Namespace, []string{"api", "web"}), tagsOf: "web",
				wantTags: []string{"1.0.0", "1.10.0", "1.9.2", "latest"}}
		}},
		{provider: "harbor", start: func(t *testing.T, h *hub) registrySetup {
			repos := ocitest.Prefixed(harborfake.Project, []string{"api", "web"})
			reg := ocitest.StartRegistry(t, map[string]string{harborfake.RobotName: harborfake.RobotSecret})
			reg.PushAll(t, repos, cliTags...)
			f := harborfake.Start(t, reg.URL, repos)
			return registrySetup{config: []string{"url=" + f.Server.URL, "project=" + harborfake.Project},
				authref: h.secret(t, "HARBOR", basicJSON(harborfake.RobotName, harborfake.RobotSecret)),
				repos:   repos, tagsOf: repos[1], wantTags: cliTags}
		}},
		{provider: "jfrog", start: func(t *testing.T, h *hub) registrySetup {
			repos := ocitest.Prefixed(jfrogfake.RepoKey, []string{"api", "web"})
			reg := ocitest.StartRegistry(t, map[string]string{jfrogfake.Username: jfrogfake.AccessToken})
			reg.PushAll(t, repos, cliTags...)
			f := jfrogfake.Start(t, reg.URL, []string{"api", "web"})
			return registrySetup{config: []string{"url=" + f.Server.URL, "repository=" + jfrogfake.RepoKey, "username=" + jfrogfake.Username},
				authref: h.secret(t, "JFROG", `{"token":"`+jfrogfake.AccessToken+`"}`),
				repos:   repos, tagsOf: repos[1], wantTags: cliTags}
		}},
		{provider: "nexus", start: func(t *testing.T, h *hub) registrySetup {
			repos := ocitest.Prefixed(nexusfake.RepoName, []string{"api", "web"})
			reg := ocitest.StartRegistry(t, map[string]string{nexusfake.Username: nexusfake.Password})
			reg.PushAll(t, repos, cliTags...)
			f := nexusfake.Start(t, reg.URL, nexusfake.Versions([]string{"api", "web"}, cliTags...))
			return registrySetup{config: []string{"url=" + f.Server.URL, "repository=" + nexusfake.RepoName},
				authref: h.secret(t, "NEXUS", basicJSON(nexusfake.Username, nexusfake.Password)),
				repos:   repos, tagsOf: repos[1], wantTags: cliTags}
		}},
		{provider: "ghcr", start: func(t *testing.T, h *hub) registrySetup {
			repos := ocitest.Prefixed(ghcrfake.Namespace, []string{"api", "web"})
			reg := ocitest.StartRegistry(t, map[string]string{ghcrfake.Org: ghcrfake.Pat, ghcrfake.User: ghcrfake.Pat})
			reg.PushAll(t, repos, cliTags...)
			f := ghcrfake.Start(t, reg.URL, []string{"api", "web"})
			return registrySetup{config: []string{"apiUrl=" + f.Server.URL, "registryUrl=" + f.Server.URL, "owner=" + ghcrfake.Org},
				authref: h.secret(t, "GHCR", `{"token":"`+ghcrfake.Pat+`"}`),
				repos:   repos, tagsOf: repos[1], wantTags: cliTags}
		}},
		{provider: "docker-hub", start: func(t *testing.T, h *hub) registrySetup {
			repos := ocitest.Prefixed(dockerhubfake.Namespace, []string{"api", "web"})
			reg := ocitest.StartRegistry(t, map[string]string{dockerhubfake.HubUser: dockerhubfake.HubPAT})
			reg.PushAll(t, repos, cliTags...)
			f := dockerhubfake.Start(t, reg.URL, []dockerhubfake.Repo{{Name: "api"}, {Name: "web", Private: true}})
			return registrySetup{config: []string{"hubUrl=" + f.Server.URL, "registryUrl=" + f.Server.URL, "namespace=" + dockerhubfake.Namespace},
				authref: h.secret(t, "DOCKERHUB", basicJSON(dockerhubfake.HubUser, dockerhubfake.HubPAT)),
				repos:   repos, tagsOf: repos[1], wantTags: cliTags}
		}},
		{provider: "gcr", start: func(t *testing.T, h *hub) registrySetup {
			// Artifact Registry: images of one repository, on the registry
			// under <project>/<repository>/; the credential is a
			// service-account key the fake's token endpoint knows.
			images := []string{"team/api", "team/web"}
			reg := ocitest.StartRegistry(t, map[string]string{gcr.OAuthUser: gcrfake.AccessToken})
			reg.PushAll(t, ocitest.Prefixed(gcrfake.Project+"/"+gcrfake.Repository, images), cliTags...)
			f := gcrfake.Start(t, reg.URL, images)
			key := f.Issuer.AddAccount(t, gcrfake.Email, gcrfake.Project)
			base := f.Server.URL
			return registrySetup{config: []string{"project=" + gcrfake.Project, "location=" + gcrfake.Location, "repository=" + gcrfake.Repository,
				"url=" + base, "registryUrl=" + base, "tokenUrl=" + base + "/token"},
				authref: h.secret(t, "GCP", key), repos: images, tagsOf: images[1], wantTags: cliTags}
		}},
		{provider: "ecr", start: func(t *testing.T, h *hub) registrySetup {
			// The ECR API (SigV4) hands out the registry password and the
			// registry's endpoint (proxyEndpoint): the real registry.
			repos := []string{"team/api", "team/web"}
			reg := ocitest.StartRegistry(t, map[string]string{ecrfake.ECRUser: ecrfake.ECRPassword})
			reg.PushAll(t, repos, cliTags...)
			f := ecrfake.Start(t, reg.URL, repos)
			keys := `{"accessKeyId":"` + ecrfake.KeyID + `","secretAccessKey":"` + ecrfake.KeySecret + `"}`
			return registrySetup{config: []string{"region=" + ecrfake.Region, "url=" + f.Server.URL},
				authref: h.secret(t, "AWS", keys), repos: repos, tagsOf: repos[1], wantTags: cliTags}
		}},
		{provider: "acr", start: func(t *testing.T, h *hub) registrySetup {
			// The admin user (the Entra ID exchange is acr's own tests').
			repos := []string{"team/api", "team/web"}
			reg := ocitest.StartRegistry(t, map[string]string{acrfake.AdminUser: acrfake.AdminPass})
			reg.PushAll(t, repos, cliTags...)
			f := acrfake.Start(t, reg.URL, repos, nil)
			return registrySetup{config: []string{"url=" + f.Server.URL},
				authref: h.secret(t, "ACR", basicJSON(acrfake.AdminUser, acrfake.AdminPass)), repos: repos, tagsOf: repos[1], wantTags: cliTags}
		}},
	}
	// One tenant for every row: the integrations and secrets are named
	// after their provider.
	h := hubFor(t)
	env := h.env()
	for _, row := range rows {
		t.Run(row.provider, func(t *testing.T) {
			t.Parallel()
			s := row.start(t, h)
			args := []string{"--name", "cli-" + row.provider, "--provider", row.provider}
			for _, c := range s.config {
				args = append(args, "--config", c)
			}
			if s.authref != "" {
				args = append(args, "--authref", s.authref)
			}
			it := create(t, env, args...)
			if it.TypeID != row.provider {
				t.Fatalf("created %+v", it)
			}

			r := stella(t, env, "config", "integrations", "test", it.ID, "-o", "json")
			res := mustJSON[contracts.TestResponse](t, r)
			if r.code != 0 || !res.Success {
				t.Fatalf("test: %s", r)
			}
			for level, c := range map[string]contracts.TestStep{"connectivity": res.Data.ConnectivityTest,
				"authentication": res.Data.AuthenticationTest, "functionality": res.Data.FunctionalityTest} {
				if c.Status != "passed" {
					t.Fatalf("%s: %+v", level, c)
				}
			}

			r = stella(t, env, "config", "integrations", "discover", it.ID, "--resource-type", "repositories", "--limit", "1", "--all", "-o", "json")
			if r.code != 0 {
				t.Fatalf("discover repositories: %s", r)
			}
			repos := names(mustJSON[contracts.DiscoveryResult](t, r).Items)
			if slices.Sort(repos); !slices.Equal(repos, s.repos) {
				t.Fatalf("repositories %v, want %v", repos, s.repos)
			}

			r = stella(t, env, "config", "integrations", "discover", it.ID, "--resource-type", "tags", "--repository", s.tagsOf, "--all", "-o", "json")
			if r.code != 0 {
				t.Fatalf("discover tags: %s", r)
			}
			tags := names(mustJSON[contracts.DiscoveryResult](t, r).Items)
			if slices.Sort(tags); !slices.Equal(tags, s.wantTags) {
				t.Fatalf("tags of %s: %v, want %v", s.tagsOf, tags, s.wantTags)
			}
		})
	}
}

// cliTags are the tags every registry row pushes.
var cliTags = []string{"1.0.0", "1.10.0", "1.9.2", "latest"}

func basicJSON(user, password string) string {
	return `{"username":"` + user + `","password":"` + password + `"}`
}

func names(items []contracts.Resource) []string {
	out := make([]string, len(items))
	for i, r := range items {
		out[i] = r.Name
	}
	return out
}
