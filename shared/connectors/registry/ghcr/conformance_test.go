package ghcr

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// ghcrPackages is what the fake organization and the real registry hold:
// 12 container packages, 4 of them svc-*.
var ghcrPackages = func() []string {
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
		out[i] = namespace + "/" + n
	}
	return out
}

// tokenJSON is the PAT as a secret store returns it.
func tokenJSON(token string) string { return `{"token":"` + token + `"}` }

// startRegistry starts a real docker-registry with token auth that takes
// the PAT as the owner's password, as ghcr.io does.
func startRegistry(t *testing.T) *testsvc.Registry {
	return testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{org: pat, user: pat},
		TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
}

// TestConformance runs the conformance suite against the fake GitHub API
// in front of a real docker-registry with token auth, so tags go over the
// real v2 API.
func TestConformance(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	names := full(ghcrPackages)
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := startRegistry(t)
			reg.PushAll(t, names[:len(names)-1], "v1")
			reg.Push(t, names[len(names)-1], tags...)
			f := newFakeGitHub(t, reg.URL, ghcrPackages)
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
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 4, Total: 12, NamePattern: namespace + "/svc-*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: names[len(names)-1]},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against a fake in registry/oci (TestTagsLinkPagination)"},
		},
	})
}
