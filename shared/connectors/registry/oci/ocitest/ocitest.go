// Package ocitest is the test setup of the vendor registry providers: a
// real docker-registry with token auth (tokens from the test token
// server) behind the vendor's fake API, and the conformance run over it,
// so that each vendor's tests hold only its fake and its config.
package ocitest

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// Names are the repositories of a conformance run, without a namespace:
// 12 of them, 4 svc-* (app-00 … app-07, svc-08 … svc-11).
func Names() []string {
	var out []string
	for i := range 12 {
		kind := "app"
		if i >= 8 {
			kind = "svc"
		}
		out = append(out, fmt.Sprintf("%s-%02d", kind, i))
	}
	return out
}

// Prefixed names each of names under prefix ("ns" gives "ns/name").
func Prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + "/" + n
	}
	return out
}

// StartRegistry starts a real docker-registry with token auth for users
// (username: password), as the vendors' registries sign in.
func StartRegistry(t *testing.T, users map[string]string) *testsvc.Registry {
	return testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: users,
		TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
}

// Conformance is a vendor's conformance run: its registry users and
// repositories, its fake API in front of the registry, its integration.
type Conformance struct {
	Spec *connectors.Spec
	// Users sign in to the registry (username: password).
	Users map[string]string
	// Repositories are the registry names of Names, in the vendor's
	// namespace; the last one holds 12 tags (1.0.0 … 1.9.0, latest,
	// stable), the others v1.
	Repositories []string
	// Fake starts the vendor's fake API in front of the registry at
	// registryURL.
	Fake func(t *testing.T, registryURL string) connectortest.Server
	// Integration is the integration on the fake (wrong: a wrong secret).
	Integration func(base *url.URL, wrong bool) connectortest.Integration
	// PageSize is the page size of the repositories case.
	PageSize int
	// NamePattern selects the 4 svc-* repositories.
	NamePattern string
	// NotApplicable names the health cases the vendor cannot meet, each
	// with its reason (a vendor without a rate limit has no 429).
	NotApplicable map[connectortest.Case]string
}

// RunConformance runs the conformance suite against the vendor's fake in
// front of a real registry with token auth, so tags go over the real v2
// API.
func RunConformance(t *testing.T, c Conformance) {
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	tags = append(tags, "latest", "stable")
	last := len(c.Repositories) - 1
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: c.Spec,
		Start: func(t *testing.T) connectortest.Server {
			reg := StartRegistry(t, c.Users)
			reg.PushAll(t, c.Repositories[:last], "v1")
			reg.Push(t, c.Repositories[last], tags...)
			return c.Fake(t, reg.URL)
		},
		Integration:   c.Integration,
		NotApplicable: c.NotApplicable,
		Discovery: []connectortest.Discovery{
			// Every registry provider declares these two resource types.
			{ResourceType: "repositories", PageSize: c.PageSize, Total: len(c.Repositories), NamePattern: c.NamePattern, Matching: 4},
			{ResourceType: "tags", Scope: contracts.DiscoveryFilter{Repository: c.Repositories[last]},
				PageSize: 4, Total: 12, NamePattern: "1.*", Matching: 10,
				Unpaged: "Debian's docker-registry 2.8 ignores n and last on tags/list; Link paging of tags is proved against a fake in registry/oci (TestTagsLinkPagination)"},
		},
	})
}
