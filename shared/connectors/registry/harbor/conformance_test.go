package harbor

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
)

// harborRepos is what the fake project and the real registry hold: 12
// repositories, 4 of them svc-*.
var harborRepos = ocitest.Prefixed(project, ocitest.Names())

// registryUsers sign in to the registry behind the fake: the robot account.
var registryUsers = map[string]string{robotName: robotSecret}

// robotSecretJSON is the robot account as a secret store returns it.
func robotSecretJSON(secret string) string {
	return `{"username":"` + robotName + `","password":"` + secret + `"}`
}

// TestConformance runs the conformance suite against the fake Harbor API
// in front of a real docker-registry with token auth (tokens from the test
// token server for the robot account), so tags go over the real v2 API.
func TestConformance(t *testing.T) {
	t.Parallel()
	ocitest.RunConformance(t, ocitest.Conformance{
		Spec: Spec, Users: registryUsers, Repositories: harborRepos,
		Fake: func(t *testing.T, registryURL string) connectortest.Server {
			f := newFakeHarbor(t, registryURL, harborRepos)
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.throttle(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			secret := robotSecret
			if wrong {
				secret = "wrong-robot-secret"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "project": project},
				CredentialRef: connectortest.SecretRef("HARBOR"),
				Secrets:       map[string]string{"HARBOR": robotSecretJSON(secret)},
			}
		},
		PageSize: 5, NamePattern: project + "/svc-*",
	})
}
