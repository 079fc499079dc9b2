package cicdtest

import (
	"slices"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Listed is what a discovery case wants of a listing read to its end.
type Listed struct {
	// Count resources; when there are any, the first has First as its key
	// and they came in pages of Pages.
	Count int
	First string
	Pages []int
}

// CheckListed fails unless got is what want says, key giving a resource's
// key (its Name or ID), and every resource is there once, of resourceType,
// and passes ok (nil: any).
func CheckListed(t testing.TB, got connectortest.Discovered, resourceType string, want Listed,
	key func(contracts.Resource) string, ok func(contracts.Resource) bool) {
	t.Helper()
	if len(got.Resources) != want.Count || (want.Count > 0 && key(got.Resources[0]) != want.First) {
		first := ""
		if len(got.Resources) > 0 {
			first = key(got.Resources[0])
		}
		t.Fatalf("discovered %d resources starting %q (%v…), want %d starting %q", len(got.Resources), first, got.Names[:min(3, len(got.Names))], want.Count, want.First)
	}
	if want.Count > 0 && !slices.Equal(got.PageSizes, want.Pages) {
		t.Fatalf("page sizes %v, want %v", got.PageSizes, want.Pages)
	}
	seen := map[string]bool{}
	for _, r := range got.Resources {
		if seen[r.ID] || r.Type != resourceType || (ok != nil && !ok(r)) {
			t.Fatalf("resource %+v repeated or out of place", r)
		}
		seen[r.ID] = true
	}
}

// Name is a resource's name: with ID, the keys CheckListed compares the
// first resource by.
func Name(r contracts.Resource) string { return r.Name }

// ID is a resource's id.
func ID(r contracts.Resource) string { return r.ID }
