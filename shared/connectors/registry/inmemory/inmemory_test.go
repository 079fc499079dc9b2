package inmemory

import (
	"context"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// TestDiscoverFiltersWithTheKitsPatternRules: a malformed glob is refused
// (it used to match nothing, silently) and a huge page size is clamped.
func TestDiscoverFiltersWithTheKitsPatternRules(t *testing.T) {
	t.Parallel()
	conn, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{
		Config: map[string]any{"repositories": []any{"team/api", "team/web", "other"}}}})
	if err != nil {
		t.Fatal(err)
	}
	d := conn.(connectors.Discoverer)
	tests := []struct {
		name    string
		pattern string
		want    int
		code    resilience.Code
	}{
		{"all", "", 3, ""},
		{"glob", "team/*", 2, ""},
		{"malformed", "team/[", 0, resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page, err := d.Discover(context.Background(), connectors.DiscoveryQuery{ResourceType: "repositories",
				Filter: contracts.DiscoveryFilter{NamePattern: tc.pattern}, PageSize: 1 << 30})
			if resilience.CodeOf(err) != tc.code || len(page.Items) != tc.want {
				t.Fatalf("Discover = %d items, %v; want %d, %q", len(page.Items), err, tc.want, tc.code)
			}
		})
	}
}
