package discoveryworker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"slices"

	"regexp"
	"time"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/discoveryfilter"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Page sizes of the API (DiscoveryRequest.limit).
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// providerPageSize is the page size asked of a provider while walking
	// (the distribution registry's own maximum).
	providerPageSize = 1000
)

var resourceTypePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// discoverer answers discovery requests from the cache, walking the
// provider's pages to the end on a miss. It has no bus in it: the handler
// feeds it and publishes what it returns.
type discoverer struct {
	registry *connectors.Registry
	pool     *runtime.Pool
	cache    cache.Cache
	ttls     cache.TTLs
	retry    resilience.Policy
	// timeout bounds a whole walk of the provider's pages.
	timeout time.Duration
	// maxItems stops a walk that would hold more resources than this.
	maxItems int
	// maxBytes bounds the encoded items of one page, so an answer always
	// fits a bus message; a page that would not is cut short.
	maxBytes int
	now      func() time.Time
	metrics  *metrics
	logger   *slog.Logger
}

// discover answers one request for integration it.
func (d *discoverer) discover(ctx context.Context, it contracts.Integration, req contracts.DiscoveryRequest) (contracts.DiscoveryResult, error) {
	spec, filter, err := d.check(it, req)
	if err != nil {
		return contracts.DiscoveryResult{}, err
	}
	limit := req.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	key := cache.Key{TenantID: it.TenantID, IntegrationID: it.ID, ResourceType: req.ResourceType, Filter: req.Filter, Revision: it.Revision}
	var cur cursor
	if req.Cursor != "" {
		if cur, err = decodeCursor(req.Cursor, key); err != nil {
			return contracts.DiscoveryResult{}, err
		}
	}
	ttl := d.ttls.For(req.ResourceType, it.Config)
	// A cursor continues the result it came from: refresh applies to a
	// first page only, or `--all --refresh` would never get past page two.
	opts := cache.Options{TTL: ttl, Refresh: req.Refresh && req.Cursor == ""}
	upTo := 0 // the whole result, to be cached
	if ttl <= 0 && !filter.Ordered() {
		// Uncached: just enough to know if more follow. An ordered result
		// needs every item before its first page is known (streamed
		// through, not held: see orderedPage).
		upTo = cur.offset + limit + 1
	}
	entry, outcome, err := d.cache.FetchStream(ctx, key, opts, func(ctx context.Context, emit cache.Emit) error {
		return d.walk(ctx, it, spec, req, filter, upTo, emit)
	})
	if err != nil {
		return contracts.DiscoveryResult{}, err
	}
	stored := ttl > 0 && outcome != cache.Error
	version := entry.DiscoveredAt.UnixNano()
	if req.Cursor != "" && stored && cur.version != version {
		return contracts.DiscoveryResult{}, expired()
	}
	if cur.offset > entry.Len() {
		return contracts.DiscoveryResult{}, badCursor("the cursor points past the end of the result")
	}
	p := pager{maxBytes: d.maxBytes, limit: limit}
	var positions []int
	if filter.Ordered() {
		var items []contracts.Resource
		items, positions, err = orderedPage(ctx, entry, filter, cur, limit)
		for i := 0; err == nil && i < len(items) && p.add(items[i]); i++ {
		}
	} else {
		// Decodes the chunks the page is in, no more (a chunk holds
		// cache.ChunkSize items).
		err = entry.From(ctx, cur.offset, func(_ int, r contracts.Resource) bool { return p.add(r) })
	}
	if errors.Is(err, cache.ErrGone) {
		return contracts.DiscoveryResult{}, expired()
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
		ResourceType: req.ResourceType, Items: page, CacheHit: outcome == cache.Hit,
		AgeSeconds: int64(entry.Age(d.now()) / time.Second), DiscoveredAt: entry.DiscoveredAt.UTC(),
	}
	if end := cur.offset + len(page); end < entry.Len() {
		next := cursor{offset: end, version: version, last: -1}
		if positions != nil && len(page) > 0 {
			next.last = positions[len(page)-1]
		}
		res.NextCursor = encodeCursor(next, key)
	}
	return res, nil
}

func expired() error {
	return refuse(apierr.InvalidCursor, map[string]any{"reason": "expired"},
		"the result this cursor pages through was refreshed or has expired: start again without a cursor")
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
func orderedPage(ctx context.Context, e cache.Entry, filter *discoveryfilter.Filter, cur cursor, limit int) ([]contracts.Resource, []int, error) {
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

// check validates the request against the provider's spec: a bus caller
// gets the same answers as the ingress gives before publishing.
func (d *discoverer) check(it contracts.Integration, req contracts.DiscoveryRequest) (*connectors.Spec, *discoveryfilter.Filter, error) {
	spec, ok := d.registry.Lookup(it.TypeID)
	if !ok {
		return nil, nil, resilience.New(resilience.InvalidConfig, "provider %q is not loaded in this discovery-worker", it.TypeID)
	}
	switch {
	case !resourceTypePattern.MatchString(req.ResourceType):
		return nil, nil, refuse(apierr.ValidationFailed, map[string]any{"field": "resourceType"},
			"resourceType must be a resource type name such as repositories or tags")
	case !spec.HasResourceType(req.ResourceType):
		return nil, nil, unsupported(spec, req.ResourceType)
	case req.Limit < 0 || req.Limit > MaxLimit:
		return nil, nil, refuse(apierr.ValidationFailed, map[string]any{"field": "limit"}, "limit must be from 1 to %d", MaxLimit)
	}
	filter, err := discoveryfilter.Parse(req.Filter)
	var fe *discoveryfilter.FieldError
	if errors.As(err, &fe) {
		return nil, nil, refuse(apierr.ValidationFailed, map[string]any{"field": fe.Field}, "%s", fe.Message)
	}
	return spec, filter, err
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

// walk follows the provider's pagination to the end (or upTo items when
// upTo > 0), retrying each page by error code (a 429 waits its Retry-After
// within the policy) as many times as the integration's "retries" field,
// within d.timeout. Each page's matching items go to emit (the cache's
// chunks) at once: the walk holds one provider page, never the result.
func (d *discoverer) walk(ctx context.Context, it contracts.Integration, spec *connectors.Spec, req contracts.DiscoveryRequest,
	filter *discoveryfilter.Filter, upTo int, emit cache.Emit) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, _, err := d.pool.Get(ctx, it)
	if err != nil {
		return err
	}
	disc, ok := connectors.AsDiscoverer(conn)
	if !ok {
		return unsupported(&connectors.Spec{ID: spec.ID}, req.ResourceType)
	}
	count := 0
	seen := map[string]bool{}
	q := connectors.DiscoveryQuery{ResourceType: req.ResourceType, Filter: req.Filter, PageSize: providerPageSize}
	retry := connectors.NewValues(spec, it.Config).RetryPolicy(d.retry)
	for {
		var page connectors.DiscoveryPage
		err := resilience.Do(ctx, retry, func(ctx context.Context) error {
			start := time.Now()
			var err error
			page, err = disc.Discover(ctx, q)
			d.metrics.providerCall(spec.ID, req.ResourceType, errorCode(err), time.Since(start))
			return err
		}, resilience.WithNotify(func(err error, wait time.Duration) {
			d.metrics.retries.WithLabelValues(string(resilience.CodeOf(err))).Inc()
		}))
		if err != nil {
			return err
		}
		items := appendMatching(nil, page.Items, filter)
		bound, cut := d.maxItems, false
		if upTo > 0 && upTo < bound {
			bound = upTo
		}
		if count+len(items) >= bound {
			cut = page.NextCursor != "" || count+len(items) > bound
			items = items[:bound-count]
		}
		count += len(items)
		if err := emit(items); err != nil {
			return err
		}
		switch {
		case page.NextCursor == "":
			return nil
		case count >= bound:
			if cut && bound == d.maxItems && (upTo == 0 || upTo > d.maxItems) {
				d.logger.WarnContext(ctx, "discovery result cut at the item limit", "tenant_id", it.TenantID, "integration_id", it.ID,
					"provider", spec.ID, "resource_type", req.ResourceType, "max_items", d.maxItems)
			}
			return nil
		case seen[page.NextCursor]:
			return resilience.New(resilience.UpstreamError, "%s returned the same page cursor twice", spec.ID)
		}
		seen[page.NextCursor] = true
		q.Cursor = page.NextCursor
	}
}

// appendMatching keeps the names the filter keeps: providers may filter
// themselves, this makes the filter hold for every one of them.
func appendMatching(dst, src []contracts.Resource, filter *discoveryfilter.Filter) []contracts.Resource {
	for _, r := range src {
		if !filter.Keep(r.Name) {
			continue
		}
		if r.Attributes != nil && len(r.Attributes) == 0 {
			r.Attributes = nil
		}
		dst = append(dst, r)
	}
	return dst
}

// isRequestError reports a refusal of the request (not a provider failure).
func isRequestError(err error) bool {
	var re *requestError
	return errors.As(err, &re)
}
