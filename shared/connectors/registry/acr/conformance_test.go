package acr

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// acrRepos is what the fake catalog and the real registry hold: 12
// repositories, 4 of them team/svc-*.
var acrRepos = func() []string {
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

func basicJSON(user, password string) string {
	b, _ := json.Marshal(map[string]string{"username": user, "password": password})
	return string(b)
}

// startRegistry starts a real docker-registry with token auth that takes
// the admin user, and a refresh token under the all-zero user, as ACR does.
func startRegistry(t *testing.T) *testsvc.Registry {
	return testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{adminUser: adminPass, RefreshTokenUser: refreshToken},
		TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
}

// TestConformance runs the conformance suite with the admin user against
// the fake ACR API in front of a real docker-registry with token auth, so
// tags go over the real v2 API. The Entra ID sign-in is TestACR's.
func TestConformance(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	last := acrRepos[len(acrRepos)-1]
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := startRegistry(t)
			reg.PushAll(t, acrRepos[:len(acrRepos)-1], "v1")
			reg.Push(t, last, tags...)
			f := newFakeACR(t, reg.URL, acrRepos, nil)
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.throttle(connectortest.RetryAfterSeconds) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			pass := adminPass
			if wrong {
				pass = "wrong-acr-admin-password"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String()},
				CredentialRef: connectortest.SecretRef("ACR"),
				Secrets:       map[string]string{"ACR": basicJSON(adminUser, pass)},
			}
		},
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 4, Total: 12, NamePattern: "team/svc-*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: last},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against a fake in registry/oci (TestTagsLinkPagination)"},
		},
	})
}
