package quay

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
)

// registryUsers sign in to the registry behind the fake: the API token
// under $oauthtoken, as Quay's registry takes it.
var registryUsers = map[string]string{OAuthUser: apiToken}

// tokenJSON is the API token as a secret store returns it.
func tokenJSON(token string) string { return `{"token":"` + token + `"}` }

// TestConformance runs the conformance suite against the fake Quay API in
// front of a real docker-registry with token auth, so tags go over the
// real v2 API.
func TestConformance(t *testing.T) {
	t.Parallel()
	ocitest.RunConformance(t, ocitest.Conformance{
		Spec: Spec, Users: registryUsers, Repositories: ocitest.Prefixed(namespace, ocitest.Names()),
		Fake: func(t *testing.T, registryURL string) connectortest.Server {
			f := newFakeQuay(t, registryURL, ocitest.Names(), 5)
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.throttle(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			token := apiToken
			if wrong {
				token = "wrong-quay-token"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "namespace": namespace},
				CredentialRef: connectortest.SecretRef("QUAY"),
				Secrets:       map[string]string{"QUAY": tokenJSON(token)},
			}
		},
		PageSize: 4, NamePattern: namespace + "/svc-*",
	})
}
