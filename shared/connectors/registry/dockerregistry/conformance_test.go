package dockerregistry

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestConformance runs the connector conformance suite against a real
// docker-registry with htpasswd auth, fronted by a proxy that answers
// 429 TOOMANYREQUESTS with Retry-After once told to (as the distribution
// spec and hosted registries answer a rate-limited client).
func TestConformance(t *testing.T) {
	t.Parallel()
	var repos []string
	for i := range 12 {
		team := "alpha"
		if i >= 8 {
			team = "beta"
		}
		repos = append(repos, fmt.Sprintf("%s/conf-%02d", team, i))
	}
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{user: password}})
			reg.PushAll(t, repos[:len(repos)-1], "v1")
			reg.Push(t, repos[len(repos)-1], tags...)
			th := connectortest.StartThrottle(t, reg.URL, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", strconv.Itoa(connectortest.RetryAfterSeconds))
				writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS")
			})
			return connectortest.Server{URL: th.URL, RateLimit: th.Limit}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			pw := password
			if wrong {
				pw = "wrong-horse-battery"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String()},
				CredentialRef: connectortest.SecretRef("REGISTRY"),
				Secrets:       map[string]string{"REGISTRY": basicSecret(user, pw)},
			}
		},
		Discovery: []connectortest.Discovery{
			{ResourceType: ResourceRepositories, PageSize: 5, Total: 12, NamePattern: "beta/*", Matching: 4},
			{ResourceType: ResourceTags, Scope: contracts.DiscoveryFilter{Repository: repos[len(repos)-1]},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against the fake (TestTagsLinkPagination)"},
		},
	})
}
