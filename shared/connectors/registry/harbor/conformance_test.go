package harbor

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// harborRepos is what the fake project and the real registry hold: 12
// repositories, 4 of them svc-*.
var harborRepos = func() []string {
	var out []string
	for i := range 12 {
		kind := "app"
		if i >= 8 {
			kind = "svc"
		}
		out = append(out, fmt.Sprintf("%s/%s-%02d", project, kind, i))
	}
	return out
}()

// robotSecretJSON is the robot account as a secret store returns it.
func robotSecretJSON(secret string) string {
	return `{"username":"` + robotName + `","password":"` + secret + `"}`
}

// TestConformance runs the conformance suite against the fake Harbor API
// in front of a real docker-registry with token auth (tokens from the test
// token server for the robot account), so tags go over the real v2 API.
func TestConformance(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{robotName: robotSecret},
				TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
			reg.PushAll(t, harborRepos[:len(harborRepos)-1], "v1")
			reg.Push(t, harborRepos[len(harborRepos)-1], tags...)
			f := newFakeHarbor(t, reg.URL, harborRepos)
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
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 5, Total: 12, NamePattern: project + "/svc-*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: harborRepos[len(harborRepos)-1]},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against a fake in registry/oci (TestTagsLinkPagination)"},
		},
	})
}
