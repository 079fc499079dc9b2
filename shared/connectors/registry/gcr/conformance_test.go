package gcr

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// garImages is what the fake repository and the real registry hold: 12
// images, 4 of them team/svc-*.
var garImages = func() []string {
	var out []string
	for i := range 12 {
		kind := "app"
		if i >= 8 {
			kind = "svc"
		}
		out = append(out, fmt.Sprintf("team/%s-%02d", kind, i))
	}
	return out
}()

// v2 is an image's path on the registry.
func v2(image string) string { return project + "/" + repository + "/" + image }

// startRegistry starts a real docker-registry with token auth that takes
// the access token under oauth2accesstoken, as Google's registry does.
func startRegistry(t *testing.T) *testsvc.Registry {
	return testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{OAuthUser: accessToken},
		TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
}

func config(base string) map[string]any {
	return map[string]any{"project": project, "location": location, "repository": repository,
		"url": base, "registryUrl": base, "tokenUrl": base + "/token"}
}

// TestConformance runs the conformance suite against the fake token
// endpoint and Artifact Registry API in front of a real docker-registry
// with token auth, so tags go over the real v2 API with the access token.
// Each subtest's fake has its own service account, found by the fake's
// address; the wrong key is one no fake of the test knows.
func TestConformance(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	last := garImages[len(garImages)-1]
	wrongKey := newFakeGAR(t, "http://127.0.0.1:9", nil).issuer.AddAccount(t, email, project)
	var keys sync.Map // host -> service-account key JSON
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := startRegistry(t)
			var paths []string
			for _, image := range garImages[:len(garImages)-1] {
				paths = append(paths, v2(image))
			}
			reg.PushAll(t, paths, "v1")
			reg.Push(t, v2(last), tags...)
			f := newFakeGAR(t, reg.URL, garImages)
			u, _ := url.Parse(f.srv.URL)
			keys.Store(u.Host, f.issuer.AddAccount(t, email, project))
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.Throttled.Store(true) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			key := wrongKey
			if v, ok := keys.Load(base.Host); ok && !wrong {
				key = v.(string)
			}
			return connectortest.Integration{
				Config:        config(base.String()),
				CredentialRef: connectortest.SecretRef("GCP"),
				Secrets:       map[string]string{"GCP": key},
			}
		},
		NoRetryAfter: "Google answers an exhausted quota with 429 RESOURCE_EXHAUSTED and no Retry-After; the retry waits by backoff",
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is GET /v2/ of the registry; the quota is the Artifact Registry API's",
		}, {
			Case: connectortest.CaseRateLimited, Level: contracts.CheckAuthentication, Want: "",
			Why: "authentication is the token exchange and the registry sign-in; the quota is the Artifact Registry API's",
		}},
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 4, Total: 12, NamePattern: "team/svc-*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: last},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against a fake in registry/oci (TestTagsLinkPagination)"},
		},
	})
}
