package ghcr

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
)

// registryUsers sign in to the registry behind the fake: the PAT as the
// owner's password, as ghcr.io takes it.
var registryUsers = map[string]string{org: pat, user: pat}

// tokenJSON is the PAT as a secret store returns it.
func tokenJSON(token string) string { return `{"token":"` + token + `"}` }

// TestConformance runs the conformance suite against the fake GitHub API
// in front of a real docker-registry with token auth, so tags go over the
// real v2 API.
func TestConformance(t *testing.T) {
	t.Parallel()
	ocitest.RunConformance(t, ocitest.Conformance{
		Spec: Spec, Users: registryUsers, Repositories: ocitest.Prefixed(namespace, ocitest.Names()),
		Fake: func(t *testing.T, registryURL string) connectortest.Server {
			f := newFakeGitHub(t, registryURL, ocitest.Names())
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.throttle(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			token := pat
			if wrong {
				token = "ghp_wrongTokenValue"
			}
			return connectortest.Integration{
				Config:        map[string]any{"apiUrl": base.String(), "registryUrl": base.String(), "owner": org},
				CredentialRef: connectortest.SecretRef("GHCR"),
				Secrets:       map[string]string{"GHCR": tokenJSON(token)},
			}
		},
		PageSize: 4, NamePattern: namespace + "/svc-*",
	})
}
