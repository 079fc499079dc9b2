package nexus

import (
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci/ocitest"
)

// registryUsers sign in to the registry behind the fake: the Nexus user
// and password, as Nexus's docker repositories take them.
var registryUsers = map[string]string{username: password}

// basicJSON is the credential as a secret store returns it.
func basicJSON(user, pass string) string {
	return `{"username":"` + user + `","password":"` + pass + `"}`
}

// TestConformance runs the conformance suite against the fake Nexus REST
// API in front of a real docker-registry with token auth, so tags go over
// the real v2 API. Each image has two components (versions), so the
// listing dedupes across Nexus's pages of 10.
func TestConformance(t *testing.T) {
	t.Parallel()
	ocitest.RunConformance(t, ocitest.Conformance{
		Spec: Spec, Users: registryUsers, Repositories: ocitest.Prefixed(repoName, ocitest.Names()),
		Fake: func(t *testing.T, registryURL string) connectortest.Server {
			f := newFakeNexus(t, registryURL, versions(ocitest.Names(), "v1", "v2"))
			return connectortest.Server{URL: f.srv.URL}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			pass := password
			if wrong {
				pass = "wrong-nexus-password"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String(), "repository": repoName},
				CredentialRef: connectortest.SecretRef("NEXUS"),
				Secrets:       map[string]string{"NEXUS": basicJSON(username, pass)},
			}
		},
		PageSize: 4, NamePattern: repoName + "/svc-*",
		NotApplicable: map[connectortest.Case]string{
			connectortest.CaseRateLimited: "Nexus Repository 3 documents no rate limit and sends no 429 of its own; " +
				"a 429 from a proxy in front is classified by the kit's client like any other (kit tests)",
		},
	})
}
