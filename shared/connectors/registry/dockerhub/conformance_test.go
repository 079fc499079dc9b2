package dockerhub

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
)

// hubRepos is what the fake namespace and the real registry hold: 12
// repositories, 4 of them svc-*, every third private.
var hubRepos = func() []fakeRepo {
	var out []fakeRepo
	for i, n := range ocitest.Names() {
		out = append(out, fakeRepo{Name: n, Private: i%3 == 0})
	}
	return out
}()

// fullNames are the repositories as the registry names them.
func fullNames(repos []fakeRepo) []string {
	out := make([]string, len(repos))
	for i, r := range repos {
		out[i] = namespace + "/" + r.Name
	}
	return out
}

// registryUsers sign in to the registry behind the fake: the account.
var registryUsers = map[string]string{hubUser: hubPAT}

// accountJSON is the account as a secret store returns it.
func accountJSON(pat string) string {
	return `{"username":"` + hubUser + `","password":"` + pat + `"}`
}

// TestConformance runs the conformance suite against the fake Docker Hub
// API in front of a real docker-registry with token auth, so tags go over
// the real v2 API; hubUrl and registryUrl both point at the fake, which
// routes the registry paths to the registry.
func TestConformance(t *testing.T) {
	t.Parallel()
	ocitest.RunConformance(t, ocitest.Conformance{
		Spec: Spec, Users: registryUsers, Repositories: fullNames(hubRepos),
		Fake: func(t *testing.T, registryURL string) connectortest.Server {
			f := newFakeHub(t, registryURL, hubRepos)
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
		PageSize: 5, NamePattern: namespace + "/svc-*",
	})
}
