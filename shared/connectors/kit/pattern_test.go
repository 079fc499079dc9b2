package kit_test

import (
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, glob, subject string
		path                bool // MatchPath rather than Match
		want                bool
	}{
		{"empty matches all", "", "anything/at/all", false, true},
		{"star", "api-*", "api-gateway", false, true},
		{"star does not cross slash", "*", "team/app", false, false},
		{"question mark", "v?", "v1", false, true},
		{"class", "[ab]*", "beta", false, true},
		{"escape", `a\*`, "a*", false, true},
		{"exact", "myorg/app", "myorg/app", false, true},
		{"no match", "db-*", "api", false, false},
		{"last segment", "api-*", "team/sub/api-gateway", true, true},
		{"pattern with slash needs the whole name", "team/api-*", "other/team/api-gateway", true, false},
		{"whole path", "team/*", "team/app", true, true},
		{"plain Match ignores segments", "api-*", "team/api-gateway", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := kit.ParsePattern(tc.glob)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Match(tc.subject)
			if tc.path {
				got = p.MatchPath(tc.subject)
			}
			if got != tc.want {
				t.Fatalf("%q on %q = %v, want %v", tc.glob, tc.subject, got, tc.want)
			}
		})
	}
	p, _ := kit.ParsePattern("*.yml")
	if !p.Match("CI", "ci.yml") {
		t.Fatal("Match of several names must pass when any does")
	}
	for _, bad := range []string{"[", "a[", strings.Repeat("a", kit.MaxPatternLength+1)} {
		if _, err := kit.ParsePattern(bad); resilience.CodeOf(err) != resilience.InvalidConfig {
			t.Fatalf("ParsePattern(%.20q) = %v, want INVALID_CONFIG", bad, err)
		}
	}
}

func TestPageSizeAndWindow(t *testing.T) {
	t.Parallel()
	sizes := []struct{ hint, want int }{{-1, 100}, {0, 100}, {1, 1}, {500, 500}, {1000, 1000}, {1001, 1000}}
	for _, tc := range sizes {
		if got := kit.PageSize(tc.hint, 100, 1000); got != tc.want {
			t.Errorf("PageSize(%d) = %d, want %d", tc.hint, got, tc.want)
		}
	}
	windows := []struct{ total, offset, size, start, end, next int }{
		{10, 0, 4, 0, 4, 4}, {10, 4, 4, 4, 8, 8}, {10, 8, 4, 8, 10, 0}, {10, 12, 4, 10, 10, 0}, {0, 0, 4, 0, 0, 0}, {10, -3, 4, 0, 4, 4},
	}
	for _, tc := range windows {
		s, e, n := kit.Window(tc.total, tc.offset, tc.size)
		if s != tc.start || e != tc.end || n != tc.next {
			t.Errorf("Window(%d, %d, %d) = %d, %d, %d; want %d, %d, %d", tc.total, tc.offset, tc.size, s, e, n, tc.start, tc.end, tc.next)
		}
	}
}
