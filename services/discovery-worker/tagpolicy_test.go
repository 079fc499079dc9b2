package discoveryworker_test

import (
	"slices"
	"testing"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestTagPoliciesOnARealRegistry applies the tag filters and orderings of
// an image updater to tags the test pushes to a real docker-registry: a
// semver constraint, regex allow and ignore lists, and semver or name
// order in either direction, each its own cache entry.
func TestTagPoliciesOnARealRegistry(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{})
	pushed := []string{"1.0.0", "1.2.0", "1.10.0", "1.9.3", "v2.0.0", "2.1.0-rc.1", "latest", "main-3f2a"}
	reg.Push(t, "team/app", pushed...)
	e := newEnv(t)
	e.start(discoveryworker.Config{Registry: connectors.NewRegistry(dockerregistry.Spec), Policy: httpx.GuardPolicy{AllowPrivate: true}})
	it := e.put(contracts.Integration{TypeID: dockerregistry.ProviderID, Config: map[string]any{"url": reg.URL, "repository": "team/app"}})

	type f = contracts.DiscoveryFilter
	tests := []struct {
		name   string
		filter f
		want   []string
	}{
		{"newest version first", f{Semver: ">=1.0.0", OrderBy: "semver"}, []string{"v2.0.0", "1.10.0", "1.9.3", "1.2.0", "1.0.0"}},
		{"semver range, ascending", f{Semver: ">=1.2 <2", OrderBy: "semver", Order: "asc"}, []string{"1.2.0", "1.9.3", "1.10.0"}},
		{"allow and ignore lists", f{Allow: []string{`^v?[0-9]`, `^main-`}, Ignore: []string{`-rc`, `^1\.`}, OrderBy: "name"}, []string{"main-3f2a", "v2.0.0"}},
		{"name order descending", f{NamePattern: "1.*", OrderBy: "name", Order: "desc"}, []string{"1.9.3", "1.2.0", "1.10.0", "1.0.0"}},
		{"semver order keeps non-versions last", f{OrderBy: "semver", Allow: []string{`^(latest|1\.0\.0|2\.1\.0-rc\.1)$`}}, []string{"2.1.0-rc.1", "1.0.0", "latest"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := result(t, e.discover(it, contracts.DiscoveryRequest{ResourceType: "tags", Filter: tc.filter}))
			if got := names(res.Items); !slices.Equal(got, tc.want) {
				t.Fatalf("tags %v, want %v", got, tc.want)
			}
		})
	}
}
