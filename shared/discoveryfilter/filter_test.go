package discoveryfilter

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

var tags = []string{"latest", "1.0.0", "v1.2.0", "1.10.0", "1.9.3", "2.0.0-rc1", "2.0.0", "1.2.0-debug", "main-abc123"}

func TestKeepAndSort(t *testing.T) {
	t.Parallel()
	type f = contracts.DiscoveryFilter
	tests := []struct {
		name   string
		filter f
		want   []string
	}{
		{"no filter keeps all in order", f{}, tags},
		{"glob", f{NamePattern: "1.*"}, []string{"1.0.0", "1.10.0", "1.9.3", "1.2.0-debug"}},
		{"allow list", f{Allow: []string{`^v?[0-9]+\.[0-9]+\.[0-9]+$`}}, []string{"1.0.0", "v1.2.0", "1.10.0", "1.9.3", "2.0.0"}},
		{"ignore list", f{Ignore: []string{`-rc`, `-debug$`, `^main-`}}, []string{"latest", "1.0.0", "v1.2.0", "1.10.0", "1.9.3", "2.0.0"}},
		{"allow and ignore", f{Allow: []string{`^1\.`, `^2\.`}, Ignore: []string{`-`}}, []string{"1.0.0", "1.10.0", "1.9.3", "2.0.0"}},
		{"semver constraint drops non-versions and pre-releases", f{Semver: ">=1.2.0 <2.0.0"}, []string{"v1.2.0", "1.10.0", "1.9.3"}},
		{"semver, newest first", f{Semver: ">=1.0.0", OrderBy: OrderBySemver}, []string{"2.0.0", "1.10.0", "1.9.3", "v1.2.0", "1.0.0"}},
		{"semver ascending", f{Semver: "^1", OrderBy: OrderBySemver, Order: Ascending}, []string{"1.0.0", "v1.2.0", "1.9.3", "1.10.0"}},
		{"semver order puts non-versions last", f{OrderBy: OrderBySemver, Allow: []string{`^(latest|1\.9\.3|2\.0\.0|2\.0\.0-rc1)$`}},
			[]string{"2.0.0", "2.0.0-rc1", "1.9.3", "latest"}},
		{"name order", f{OrderBy: OrderByName, NamePattern: "1.*"}, []string{"1.0.0", "1.10.0", "1.2.0-debug", "1.9.3"}},
		{"name descending", f{OrderBy: OrderByName, Order: Descending, NamePattern: "1.*"}, []string{"1.9.3", "1.2.0-debug", "1.10.0", "1.0.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			flt, err := Parse(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var items []contracts.Resource
			for _, n := range tags {
				if flt.Keep(n) {
					items = append(items, contracts.Resource{Type: "tags", Name: n})
				}
			}
			flt.Sort(items)
			var got []string
			for _, it := range items {
				got = append(got, it.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSortByCreated(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	items := []contracts.Resource{
		{Name: "old", Attributes: map[string]any{CreatedAttribute: t0}},
		{Name: "none"},
		{Name: "newest", Attributes: map[string]any{CreatedAttribute: t0.Add(2 * time.Hour).Format(time.RFC3339)}},
		{Name: "mid", Attributes: map[string]any{CreatedAttribute: t0.Add(time.Hour)}},
	}
	for _, tc := range []struct {
		order string
		want  []string
	}{{"", []string{"newest", "mid", "old", "none"}}, {Ascending, []string{"old", "mid", "newest", "none"}}} {
		t.Run("order "+tc.order, func(t *testing.T) {
			flt, err := Parse(contracts.DiscoveryFilter{OrderBy: OrderByCreated, Order: tc.order})
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(items)
			flt.Sort(got)
			var names []string
			for _, it := range got {
				names = append(names, it.Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Fatalf("got %v, want %v", names, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	type f = contracts.DiscoveryFilter
	long := string(make([]byte, MaxExpressionLength+1))
	tests := []struct {
		name   string
		filter f
		field  string
	}{
		{"bad glob", f{NamePattern: "a["}, "filter.namePattern"},
		{"bad allow regex", f{Allow: []string{"ok", "a(b"}}, "filter.allow[1]"},
		{"bad ignore regex", f{Ignore: []string{"*x"}}, "filter.ignore[0]"},
		{"long regex", f{Ignore: []string{long}}, "filter.ignore[0]"},
		{"too many expressions", f{Allow: make([]string, MaxExpressions+1)}, "filter.allow"},
		{"bad semver", f{Semver: ">=banana"}, "filter.semver"},
		{"unknown ordering", f{OrderBy: "newest"}, "filter.orderBy"},
		{"unknown direction", f{OrderBy: "name", Order: "up"}, "filter.order"},
		{"direction without ordering", f{Order: "asc"}, "filter.order"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.filter)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Parse = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}
