package jfrog

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
)

// registryUsers sign in to the registry behind the fake: the access token
// as the user's password, as Artifactory takes it.
var registryUsers = map[string]string{username: accessToken}

// tokenJSON is the access token as a secret store returns it.
func tokenJSON(token string) string { return `{"token":"` + token + `"}` }

// TestConformance runs the conformance suite against the fake Artifactory
// API in front of a real docker-registry with token auth, so tags go over the
// real v2 API.
func TestConformance(t *testing.T) {
	t.Parallel()
	ocitest.RunConformance(t, ocitest.Conformance{
		Spec: Spec, Users: registryUsers, Repositories: ocitest.Prefixed(repoKey, ocitest.Names()),
		Fake: func(t *testing.T, registryURL string) connectortest.Server {
			f := newFakeArtifactory(t, registryURL, ocitest.Names())
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.throttle(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			token := accessToken
			if wrong {
				token = "wrong-access-token"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "repository": repoKey, "username": username},
				CredentialRef: connectortest.SecretRef("JFROG"),
				Secrets:       map[string]string{"JFROG": tokenJSON(token)},
			}
		},
		PageSize: 4, NamePattern: repoKey + "/svc-*",
	})
}
