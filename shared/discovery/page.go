// Package discovery answers one page of a cached discovery result: the
// page, its nextCursor, cacheHit and ageSeconds. The discovery-worker
// answers every request with it after filling the cache, and the ingress
// answers a cache hit with it straight from a cache it shares with the
// worker (Redis, or the in-process cache of `make run`), so both give the
// same bytes for the same entry.
package discovery

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/discoveryfilter"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Page sizes of the API (DiscoveryRequest.limit).
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// EnvelopeBytes is kept free in a bus message for the headers and the
// completion event around a page of items.
const EnvelopeBytes = 64 << 10

// MaxPageBytes bounds the encoded items of one page on a bus whose largest
// message is maxPayload bytes, so an answer always fits a bus message.
// The ingress cuts the pages it answers itself at the same size, so a page
// is the same whichever of them answers.
func MaxPageBytes(maxPayload int64) int {
	return max(int(maxPayload)-EnvelopeBytes, EnvelopeBytes)
}

// RequestError refuses the request itself (a resource type the provider
// does not discover, a bad cursor or limit), in the API's vocabulary.
type RequestError struct {
	Code    string
	Message string
	Details map[string]any
}

func (e *RequestError) Error() string { return e.Code + ": " + e.Message }

// Refuse returns a RequestError.
func Refuse(code string, details map[string]any, format string, args ...any) *RequestError {
	return &RequestError{Code: code, Message: fmt.Sprintf(format, args...), Details: details}
}

// Expired is the refusal of a cursor into a result that was refreshed or
// has expired.
func Expired() error {
	return Refuse(apierr.InvalidCursor, map[string]any{"reason": "expired"},
		"the result this cursor pages through was refreshed or has expired: start again without a cursor")
}

// Request is one page asked of an entry.
type Request struct {
	// Key is the entry's; cursors carry its fingerprint.
	Key          cache.Key
	ResourceType string
	Filter       *discoveryfilter.Filter
	Cursor       Cursor
	// HasCursor says the caller sent a cursor (Cursor is then its decoding).
	HasCursor bool
	// Limit is the page size (0: DefaultLimit).
	Limit int
	// Stored says the entry is kept in the cache (a cursor must then name
	// its version); false for an answer the cache did not keep.
	Stored bool
	// Hit says the entry came from the cache (cacheHit).
	Hit bool
	// MaxBytes bounds the encoded items of the page (MaxPageBytes).
	MaxBytes int
	Now      time.Time
}

// Page answers r from e.
func Page(ctx context.Context, e cache.Entry, r Request) (contracts.DiscoveryResult, error) {
	limit := r.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	cur := r.Cursor
	version := e.DiscoveredAt.UnixNano()
	if r.HasCursor && r.Stored && cur.version != version {
		return contracts.DiscoveryResult{}, Expired()
	}
	if cur.offset > e.Len() {
		return contracts.DiscoveryResult{}, badCursor("the cursor points past the end of the result")
	}
	p := pager{maxBytes: r.MaxBytes, limit: limit}
	var positions []int
	var err error
	if r.Filter.Ordered() {
		var items []contracts.Resource
		items, positions, err = orderedPage(ctx, e, r.Filter, cur, limit)
		for i := 0; err == nil && i < len(items) && p.add(items[i]); i++ {
		}
	} else {
		// Decodes the chunks the page is in, no more (a chunk holds
		// cache.ChunkSize items).
		err = e.From(ctx, cur.offset, func(_ int, res contracts.Resource) bool { return p.add(res) })
	}
	if errors.Is(err, cache.ErrGone) {
		return contracts.DiscoveryResult{}, Expired()
	}
	if err == nil {
		err = p.err
	}
	if err != nil {
		return contracts.DiscoveryResult{}, err
	}
	page := p.items
	if page == nil {
		page = []contracts.Resource{}
	}
	res := contracts.DiscoveryResult{
		ResourceType: r.ResourceType, Items: page, CacheHit: r.Hit,
		AgeSeconds: int64(e.Age(r.Now) / time.Second), DiscoveredAt: e.DiscoveredAt.UTC(),
	}
	if end := cur.offset + len(page); end < e.Len() {
		next := Cursor{offset: end, version: version, last: -1}
		if positions != nil && len(page) > 0 {
			next.last = positions[len(page)-1]
		}
		res.NextCursor = encodeCursor(next, r.Key)
	}
	return res, nil
}

// UpTo is how many items an uncached walk needs for the page a cursor
// asks for: just enough to know if more follow.
func (c Cursor) UpTo(limit int) int {
	if limit == 0 {
		limit = DefaultLimit
	}
	return c.offset + limit + 1
}

// orderedPage is a page of a result in the filter's order, read without
// holding the result: one pass over its chunks keeps the limit smallest
// items after the cursor's last one in a bounded heap. Sorting the whole
// result would hold every item (about 1 KiB each decoded) for as long as
// callers page through it; a pass per page holds a page, at the cost of
// decoding the result once per page (keyset pagination: the order is the
// filter's, ties broken by the position in the result, so every item comes
// exactly once). It returns each item's position in the result, for the
// next cursor.
func orderedPage(ctx context.Context, e cache.Entry, filter *discoveryfilter.Filter, cur Cursor, limit int) ([]contracts.Resource, []int, error) {
	type keyed struct {
		key  discoveryfilter.SortKey
		pos  int
		item contracts.Resource
	}
	less := func(a, b keyed) int {
		if c := filter.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	}
	var after *keyed
	if cur.offset > 0 {
		if cur.last < 0 || cur.last >= e.Len() {
			return nil, nil, badCursor("the cursor is not a nextCursor of this discovery (same resource type and filter)")
		}
		last, err := e.Range(ctx, cur.last, 1)
		if err != nil {
			return nil, nil, err
		}
		after = &keyed{key: filter.Key(last[0]), pos: cur.last}
	}
	// h is a max-heap of the best limit items seen: its root is the one to
	// drop when a better item comes.
	h := make([]keyed, 0, limit+1)
	worst := func(i, j int) bool { return less(h[i], h[j]) > 0 }
	err := e.Each(ctx, func(pos int, r contracts.Resource) bool {
		k := keyed{key: filter.Key(r), pos: pos}
		if after != nil && less(k, *after) <= 0 {
			return true
		}
		if len(h) == limit {
			if less(k, h[0]) >= 0 {
				return true
			}
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
			down(h, 0, worst)
		}
		k.item = r
		h = append(h, k)
		up(h, len(h)-1, worst)
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(h, less)
	items, positions := make([]contracts.Resource, len(h)), make([]int, len(h))
	for i, k := range h {
		items[i], positions[i] = k.item, k.pos
	}
	return items, positions, nil
}

// up and down keep h a heap under before (container/heap on a slice of
// structs, without its interface boxing every push).
func up[T any](h []T, i int, before func(i, j int) bool) {
	for i > 0 {
		p := (i - 1) / 2
		if !before(i, p) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func down[T any](h []T, i int, before func(i, j int) bool) {
	for {
		l, best := 2*i+1, i
		if l < len(h) && before(l, best) {
			best = l
		}
		if r := l + 1; r < len(h) && before(r, best) {
			best = r
		}
		if best == i {
			return
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
}

// pager fills one page: up to limit items, fewer if they would not encode
// within maxBytes: whatever a provider returns, an answer fits a bus
// message. Items are measured one by one, so a cut page costs no more than
// the bytes it keeps.
type pager struct {
	maxBytes, limit int
	// size is the page's encoded size once exact is set; until then an
	// upper bound of it, from encodedBound, which costs no encoding: most
	// pages are far below maxBytes and never need their exact size.
	size  int
	exact bool
	items []contracts.Resource
	err   error
}

// add takes r if it fits and reports whether the page takes more.
func (p *pager) add(r contracts.Resource) bool {
	if len(p.items) >= p.limit {
		return false
	}
	if p.size == 0 {
		p.size = len("[]")
	}
	if !p.exact {
		if n := encodedBound(r); n >= 0 && p.size+n+len(",") <= p.maxBytes {
			p.size += n + len(",")
			p.items = append(p.items, r)
			return len(p.items) < p.limit
		}
		// Near the bound (or a value whose size is not bounded cheaply):
		// from here on the page counts its exact size.
		if !p.measure() {
			return false
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		p.err = err
		return false
	}
	if p.size += len(b) + len(","); p.size > p.maxBytes {
		if len(p.items) == 0 {
			p.err = resilience.New(resilience.UpstreamError, "resource %q is larger than a bus message (%d bytes)", r.Name, len(b))
		}
		return false
	}
	p.items = append(p.items, r)
	return len(p.items) < p.limit
}

// measure replaces the bound of the items taken by their exact size.
func (p *pager) measure() bool {
	p.exact, p.size = true, len("[]")
	for _, r := range p.items {
		b, err := json.Marshal(r)
		if err != nil {
			p.err = err
			return false
		}
		p.size += len(b) + len(",")
	}
	return true
}

// encodedBound is at least the length of json.Marshal(r), or -1 when an
// attribute's value is not a string, finite number, bool or null (then
// only encoding it tells). A string byte encodes to at most 6 bytes
// (\u00XX, or \ufffd for a byte of invalid UTF-8).
func encodedBound(r contracts.Resource) int {
	str := func(s string) int { return 2 + 6*len(s) }
	n := len(`{"type":,"name":,"id":,"attributes":{}}`) + str(r.Type) + str(r.Name) + str(r.ID)
	for k, v := range r.Attributes {
		n += str(k) + len(":,")
		switch v := v.(type) {
		case string:
			n += str(v)
		case bool, nil:
			n += len("false")
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return -1
			}
			n += 32 // strconv's longest float64 is 24 bytes
		case int, int64, int32, uint, uint64, uint32:
			n += 21
		default:
			return -1
		}
	}
	return n
}
