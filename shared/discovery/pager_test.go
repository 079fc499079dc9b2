package discovery

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/stella-ops/inthub/shared/contracts"
)

// TestEncodedBound: the bound is never below the real encoding, and is
// -1 for values only encoding can size.
func TestEncodedBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       contracts.Resource
		unknown bool
	}{
		{"plain", contracts.Resource{Type: "repository", Name: "team/service-001", ID: "team/service-001"}, false},
		{"escapes and html", contracts.Resource{Type: "t", Name: "<a&b>\"\\\n\u2028", Attributes: map[string]any{"k<": "\x00\x01"}}, false},
		{"invalid utf-8", contracts.Resource{Type: "t", Name: "\xff\xfe\xfd"}, false},
		{"scalars", contracts.Resource{Type: "t", Name: "n", Attributes: map[string]any{
			"f": -1.7976931348623157e+308, "tiny": 5e-324, "b": false, "n": nil, "i": math.MinInt64, "u": uint64(math.MaxUint64)}}, false},
		{"nested", contracts.Resource{Type: "t", Name: "n", Attributes: map[string]any{"m": map[string]any{"a": 1.0}}}, true},
		{"NaN", contracts.Resource{Type: "t", Name: "n", Attributes: map[string]any{"x": math.NaN()}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := encodedBound(tc.r)
			if tc.unknown {
				if n != -1 {
					t.Fatalf("bound %d, want -1", n)
				}
				return
			}
			b, err := json.Marshal(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if n < len(b) {
				t.Fatalf("bound %d below the encoding's %d bytes: %s", n, len(b), b)
			}
		})
	}
}

// TestPagerCutsWhereTheEncodingDoes: with the bound as a shortcut, a page
// is cut at the same item as counting every item's encoding would.
func TestPagerCutsWhereTheEncodingDoes(t *testing.T) {
	t.Parallel()
	items := make([]contracts.Resource, 300)
	for i := range items {
		items[i] = contracts.Resource{Type: "repository", Name: fmt.Sprintf("team/service-%03d", i),
			Attributes: map[string]any{"repository": fmt.Sprintf("team/service-%03d", i), "tags": float64(i)}}
	}
	exactCut := func(maxBytes, limit int) int {
		size, n := len("[]"), 0
		for _, r := range items {
			if n >= limit {
				break
			}
			b, _ := json.Marshal(r)
			if size += len(b) + 1; size > maxBytes {
				break
			}
			n++
		}
		return n
	}
	for _, tc := range []struct{ maxBytes, limit int }{{1 << 20, 100}, {4000, 300}, {20000, 300}, {200, 300}, {60, 10}} {
		t.Run(fmt.Sprintf("%d bytes, limit %d", tc.maxBytes, tc.limit), func(t *testing.T) {
			t.Parallel()
			p := pager{maxBytes: tc.maxBytes, limit: tc.limit}
			for _, r := range items {
				if !p.add(r) {
					break
				}
			}
			want := exactCut(tc.maxBytes, tc.limit)
			if len(p.items) != want {
				t.Fatalf("page of %d items, want %d", len(p.items), want)
			}
			if want == 0 && p.err == nil {
				t.Fatal("an item larger than a message gave no error")
			}
			if want > 0 && p.err != nil {
				t.Fatalf("error %v", p.err)
			}
		})
	}
}
