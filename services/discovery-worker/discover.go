package discoveryworker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

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
		// needs every item before its first page is known.
		upTo = cur.offset + limit + 1
	}
	entry, outcome, err := d.cache.Fetch(ctx, key, opts, func(ctx context.Context) ([]contracts.Resource, error) {
		return d.walk(ctx, it, spec, req, filter, upTo)
	})
	if err != nil {
		return contracts.DiscoveryResult{}, err
	}
	stored := ttl > 0 && outcome != cache.Error
	version := entry.DiscoveredAt.UnixNano()
	if req.Cursor != "" && stored && cur.version != version {
		return contracts.DiscoveryResult{}, refuse(apierr.InvalidCursor, map[string]any{"reason": "expired"},
			"the result this cursor pages through was refreshed or has expired: start again without a cursor")
	}
	if cur.offset > len(entry.Items) {
		return contracts.DiscoveryResult{}, badCursor("the cursor points past the end of the result")
	}
	page, err := d.page(entry.Items, cur.offset, limit)
	if err != nil {
		return contracts.DiscoveryResult{}, err
	}
	res := contracts.DiscoveryResult{
		ResourceType: req.ResourceType, Items: page, CacheHit: outcome == cache.Hit,
		AgeSeconds: int64(entry.Age(d.now()) / time.Second), DiscoveredAt: entry.DiscoveredAt.UTC(),
	}
	if end := cur.offset + len(page); end < len(entry.Items) {
		res.NextCursor = encodeCursor(cursor{offset: end, version: version}, key)
	}
	return res, nil
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

// page cuts items[offset:offset+limit], shorter if it would not encode
// within maxBytes: whatever a provider returns, an answer fits a bus
// message. Items are measured one by one, so a cut page costs no more than
// the bytes it keeps.
func (d *discoverer) page(items []contracts.Resource, offset, limit int) ([]contracts.Resource, error) {
	end := min(offset+limit, len(items))
	size := len("[]")
	for i := offset; i < end; i++ {
		b, err := json.Marshal(items[i])
		if err != nil {
			return nil, err
		}
		if size += len(b) + len(","); size > d.maxBytes {
			if i == offset {
				return nil, resilience.New(resilience.UpstreamError, "resource %q is larger than a bus message (%d bytes)", items[i].Name, len(b))
			}
			end = i
			break
		}
	}
	return append([]contracts.Resource{}, items[offset:end]...), nil
}

// walk follows the provider's pagination to the end (or upTo items when
// upTo > 0), retrying each page by error code (a 429 waits its Retry-After
// within the policy) as many times as the integration's "retries" field,
// within d.timeout.
func (d *discoverer) walk(ctx context.Context, it contracts.Integration, spec *connectors.Spec, req contracts.DiscoveryRequest,
	filter *discoveryfilter.Filter, upTo int) ([]contracts.Resource, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, _, err := d.pool.Get(ctx, it)
	if err != nil {
		return nil, err
	}
	disc, ok := connectors.AsDiscoverer(conn)
	if !ok {
		return nil, unsupported(&connectors.Spec{ID: spec.ID}, req.ResourceType)
	}
	items := []contracts.Resource{}
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
			return nil, err
		}
		items = appendMatching(items, page.Items, filter)
		switch {
		case page.NextCursor == "":
			filter.Sort(items)
			return items, nil
		case upTo > 0 && len(items) >= upTo:
			return items[:upTo], nil
		case len(items) >= d.maxItems:
			d.logger.WarnContext(ctx, "discovery result cut at the item limit", "tenant_id", it.TenantID, "integration_id", it.ID,
				"provider", spec.ID, "resource_type", req.ResourceType, "max_items", d.maxItems)
			items = items[:d.maxItems]
			filter.Sort(items)
			return items, nil
		case seen[page.NextCursor]:
			return nil, resilience.New(resilience.UpstreamError, "%s returned the same page cursor twice", spec.ID)
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
