package jfrog

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// jfrogImages is what the fake repository and the real registry hold: 12
// images, 4 of them svc-*.
var jfrogImages = func() []string {
	var out []string
	for i := range 12 {
		kind := "app"
		if i >= 8 {
			kind = "svc"
		}
		out = append(out, fmt.Sprintf("%s-%02d", kind, i))
	}
	return out
}()

func full(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = repoKey + "/" + n
	}
	return out
}

// tokenJSON is the access token as a secret store returns it.
func tokenJSON(token string) string { return `{"token":"` + token + `"}` }

// startRegistry starts a real docker-registry with token auth that takes
// the access token as the user's password, as Artifactory does.
func startRegistry(t *testing.T) *testsvc.Registry {
	return testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{username: accessToken},
		TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
}

// TestConformance runs the conformance suite against the fake Artifactory
// API in front of a real docker-registry with token auth, so tags go over the
// real v2 API.
func TestConformance(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	names := full(jfrogImages)
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := startRegistry(t)
			reg.PushAll(t, names[:len(names)-1], "v1")
			reg.Push(t, names[len(names)-1], tags...)
			f := newFakeArtifactory(t, reg.URL, jfrogImages)
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
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 4, Total: 12, NamePattern: repoKey + "/svc-*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: names[len(names)-1]},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against a fake in registry/oci (TestTagsLinkPagination)"},
		},
	})
}
