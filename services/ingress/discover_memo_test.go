package ingress

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// TestEncodedPageRendersTheAnswerOfAnyAge: a page cut around its age and
// rendered with another age is the encoding of the result of that age,
// even when an item's name holds the age's member name.
func TestEncodedPageRendersTheAnswerOfAnyAge(t *testing.T) {
	t.Parallel()
	res := contracts.DiscoveryResult{ResourceType: "repositories", CacheHit: true, AgeSeconds: 5, NextCursor: "abc",
		DiscoveredAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Items:        []contracts.Resource{{Type: "repositories", Name: `x,"ageSeconds":1`}, {Type: "repositories", Name: "y", ID: "y"}}}
	body, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := cutPage(body)
	if !ok {
		t.Fatal("not cut")
	}
	for _, age := range []int64{0, 5, 7, 86400} {
		res.AgeSeconds = age
		want, _ := json.Marshal(res)
		if got := p.render(age); string(got) != string(want)+"\n" {
			t.Fatalf("age %d:\ngot  %s\nwant %s", age, got, want)
		}
	}
}

// TestPageMemoStaysWithinItsBound: past its size the memo drops pages.
func TestPageMemoStaysWithinItsBound(t *testing.T) {
	t.Parallel()
	m := &pageMemo{pages: map[pageKey]encodedPage{}, maxBytes: 16 << 10}
	page := encodedPage{head: make([]byte, 500), tail: make([]byte, 400)}
	for i := range 100 {
		m.put(pageKey{key: "k", limit: i}, page)
		if m.size > m.maxBytes {
			t.Fatalf("after %d pages: %d bytes held, bound %d", i+1, m.size, m.maxBytes)
		}
	}
	if _, ok := m.get(pageKey{key: "k", limit: 99}); !ok {
		t.Fatal("the last page is not kept")
	}
	m.put(pageKey{key: "big"}, encodedPage{head: make([]byte, 2<<10)})
	if _, ok := m.get(pageKey{key: "big"}); ok {
		t.Fatal("a page above a sixteenth of the bound was kept")
	}
}
