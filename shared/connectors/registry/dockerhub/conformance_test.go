package dockerhub

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// hubRepos is what the fake namespace and the real registry hold: 12
// repositories, 4 of them svc-*, every third private.
var hubRepos = func() []fakeRepo {
	var out []fakeRepo
	for i := range 12 {
		kind := "app"
		if i >= 8 {
			kind = "svc"
		}
		out = append(out, fakeRepo{name: fmt.Sprintf("%s-%02d", kind, i), private: i%3 == 0})
	}
	return out
}()

// fullNames are the repositories as the registry names them.
func fullNames(repos []fakeRepo) []string {
	out := make([]string, len(repos))
	for i, r := range repos {
		out[i] = namespace + "/" + r.name
	}
	return out
}

// accountJSON is the account as a secret store returns it.
func accountJSON(pat string) string {
	return `{"username":"` + hubUser + `","password":"` + pat + `"}`
}

// startRegistry starts a real docker-registry with token auth for the
// account (tokens from the test token server).
func startRegistry(t *testing.T) *testsvc.Registry {
	return testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{hubUser: hubPAT},
		TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
}

// TestConformance runs the conformance suite against the fake Docker Hub
// API in front of a real docker-registry with token auth, so tags go over
// the real v2 API; hubUrl and registryUrl both point at the fake, which
// routes the registry paths to the registry.
func TestConformance(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	names := fullNames(hubRepos)
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := startRegistry(t)
			reg.PushAll(t, names[:len(names)-1], "v1")
			reg.Push(t, names[len(names)-1], tags...)
			f := newFakeHub(t, reg.URL, hubRepos)
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.throttle(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			pat := hubPAT
			if wrong {
				pat = "dckr_pat_wrong"
			}
			return connectortest.Integration{
				Config:        map[string]any{"hubUrl": base.String(), "registryUrl": base.String(), "namespace": namespace},
				CredentialRef: connectortest.SecretRef("DOCKERHUB"),
				Secrets:       map[string]string{"DOCKERHUB": accountJSON(pat)},
			}
		},
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 5, Total: 12, NamePattern: namespace + "/svc-*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: names[len(names)-1]},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against a fake in registry/oci (TestTagsLinkPagination)"},
		},
	})
}
