package kit_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// upstream is a listing of n items "i0".."i<n-1>" in pages of per, with
// an optional empty page in the middle.
func upstream(n, per int, emptyAt string) (kit.FetchFunc[string], *int) {
	calls := 0
	return func(_ context.Context, page string, _ int) ([]string, string, error) {
		calls++
		if page == emptyAt && emptyAt != "" {
			return nil, "p" + strconv.Itoa(n), nil // nothing here, but more after
		}
		start := 0
		if page != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(page, "p"))
		}
		var items []string
		for i := start; i < min(start+per, n); i++ {
			items = append(items, "i"+strconv.Itoa(i))
		}
		next := ""
		if start+per < n {
			next = "p" + strconv.Itoa(start+per)
		}
		return items, next, nil
	}, &calls
}

func TestCollectWalksToTheEndWithoutLosingItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		total, per  int
		size, max   int
		keep        func(string) bool
		wantItems   int
		wantRequest int
	}{
		{"one page", 5, 10, 10, 10, nil, 5, 1},
		{"upstream pages larger than ours (re-read from a skip)", 25, 10, 4, 10, nil, 25, 8},
		{"upstream pages smaller than ours", 25, 3, 10, 10, nil, 25, 11},
		{"filter leaves pages short", 40, 5, 3, 2, func(s string) bool { return strings.HasSuffix(s, "7") }, 4, 8},
		{"empty listing", 0, 5, 3, 2, nil, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fetch, calls := upstream(tc.total, tc.per, "")
			var got []string
			var pos kit.Position
			for range 100 {
				items, next, err := kit.Collect(context.Background(), kit.Collector{Size: tc.size, MaxRequests: tc.max}, pos, tc.keep, fetch)
				if err != nil {
					t.Fatal(err)
				}
				if len(items) > tc.size {
					t.Fatalf("page of %d items, size %d", len(items), tc.size)
				}
				got = append(got, items...)
				if next == nil {
					break
				}
				// The position survives a round trip through a cursor.
				if pos, err = kit.DecodeCursor(kit.EncodeCursor(*next), kit.Position.Valid); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]bool{}
			for _, s := range got {
				if seen[s] {
					t.Fatalf("%s returned twice", s)
				}
				seen[s] = true
			}
			if len(got) != tc.wantItems || *calls != tc.wantRequest {
				t.Fatalf("got %d items in %d requests, want %d in %d: %v", len(got), *calls, tc.wantItems, tc.wantRequest, got)
			}
		})
	}
}

func TestCollectEmptyPages(t *testing.T) {
	t.Parallel()
	for _, stop := range []bool{false, true} {
		fetch, _ := upstream(3, 5, "p0")
		items, next, err := kit.Collect(context.Background(), kit.Collector{Size: 5, MaxRequests: 5, StopOnEmpty: stop}, kit.Position{Page: "p0"}, nil, fetch)
		if err != nil {
			t.Fatal(err)
		}
		// The empty page names "p3", which is past the end: no items either way.
		if len(items) != 0 || next != nil {
			t.Fatalf("StopOnEmpty=%v: %v, %v", stop, items, next)
		}
	}
}

// TestNumberedPages: pages by number to the end, refuses page numbers it
// never issues, and ends a listing whose next page does not advance.
func TestNumberedPages(t *testing.T) {
	t.Parallel()
	fetch := kit.NumberedPages(func(_ context.Context, page int) ([]int, int, error) {
		switch page {
		case 1, 2:
			return []int{page}, page + 1, nil
		case 3:
			return []int{3}, 3, nil // a server naming itself as next
		}
		return nil, 0, fmt.Errorf("page %d asked", page)
	})
	var got []int
	page := ""
	for range 5 {
		items, next, err := fetch(context.Background(), page, 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items...)
		if next == "" {
			break
		}
		page = next
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("read %v, want [1 2 3]", got)
	}
	for _, tc := range []struct {
		p    kit.Position
		want bool
	}{
		{kit.Position{}, false}, {kit.Position{Skip: 3}, true}, {kit.Position{Page: "2"}, true},
		{kit.Position{Page: "1"}, false}, {kit.Position{Page: "0"}, false}, {kit.Position{Page: "02"}, false},
		{kit.Position{Page: "x"}, false}, {kit.Position{Page: "-4"}, false}, {kit.Position{Page: "3", Skip: -1}, false},
	} {
		if got := kit.ValidPageNumber(tc.p); got != tc.want {
			t.Errorf("ValidPageNumber(%+v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if _, _, err := fetch(context.Background(), "zero", 10); resilience.CodeOf(err) != resilience.InvalidConfig {
		t.Fatalf("page %q: %v, want INVALID_CONFIG", "zero", err)
	}
}
