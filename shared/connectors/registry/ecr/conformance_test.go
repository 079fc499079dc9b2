package ecr

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

// ecrRepos is what the fake account and the real registry hold: 12
// repositories, 4 of them team/svc-*.
var ecrRepos = func() []string {
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

// keysJSON is the access key pair as a secret store returns it.
func keysJSON(id, secret string) string {
	b, _ := json.Marshal(map[string]string{"accessKeyId": id, "secretAccessKey": secret})
	return string(b)
}

// startRegistry starts a real docker-registry with token auth that takes
// the GetAuthorizationToken password for user AWS, as ECR's registry does.
func startRegistry(t *testing.T) *testsvc.Registry {
	return testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{ecrUser: ecrPasswd},
		TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
}

// TestConformance runs the conformance suite against the fake ECR API
// (SigV4 verified) whose proxyEndpoint is a real docker-registry with token
// auth, so tags go over the real v2 API with the password
// GetAuthorizationToken returned.
func TestConformance(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	last := ecrRepos[len(ecrRepos)-1]
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := startRegistry(t)
			reg.PushAll(t, ecrRepos[:len(ecrRepos)-1], "v1")
			reg.Push(t, last, tags...)
			f := newFakeECR(t, reg.URL, ecrRepos)
			return connectortest.Server{URL: f.srv.URL, RateLimit: func() { f.setThrottle(true) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			secret := keySecret
			if wrong {
				secret = "wrong-" + keySecret
			}
			return connectortest.Integration{
				Config:        map[string]any{"region": region, "url": base.String()},
				CredentialRef: connectortest.SecretRef("AWS"),
				Secrets:       map[string]string{"AWS": keysJSON(keyID, secret)},
			}
		},
		NoRetryAfter: "AWS answers throttling with HTTP 400 ThrottlingException and no Retry-After; the retry waits by backoff",
		Exceptions: []connectortest.Exception{{
			Case: connectortest.CaseRateLimited, Level: contracts.CheckConnectivity, Want: "",
			Why: "connectivity is any HTTP answer to an unsigned GET of the API endpoint; AWS throttles signed calls",
		}},
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 4, Total: 12, NamePattern: "team/svc-*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: last},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against a fake in registry/oci (TestTagsLinkPagination)"},
		},
	})
}
