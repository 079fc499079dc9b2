package discoveryworker

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"time"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/discovery"
	"github.com/stella-ops/inthub/shared/discoveryfilter"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Page sizes of the API (DiscoveryRequest.limit).
const (
	DefaultLimit = discovery.DefaultLimit
	MaxLimit     = discovery.MaxLimit
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
	key := cache.Key{TenantID: it.TenantID, IntegrationID: it.ID, ResourceType: req.ResourceType, Filter: req.Filter, Revision: it.Revision}
	cur, err := discovery.DecodeCursor(req.Cursor, key)
	if err != nil {
		return contracts.DiscoveryResult{}, err
	}
	ttl := d.ttls.For(req.ResourceType, it.Config)
	// A cursor continues the result it came from: refresh applies to a
	// first page only, or `--all --refresh` would never get past page two.
	opts := cache.Options{TTL: ttl, Refresh: req.Refresh && req.Cursor == ""}
	upTo := 0 // the whole result, to be cached
	if ttl <= 0 && !filter.Ordered() {
		// Uncached: just enough to know if more follow. An ordered result
		// needs every item before its first page is known (streamed
		// through, not held: see discovery.Page).
		upTo = cur.UpTo(req.Limit)
	}
	entry, outcome, err := d.cache.FetchStream(ctx, key, opts, func(ctx context.Context, emit cache.Emit) error {
		return d.walk(ctx, it, spec, req, filter, upTo, emit)
	})
	if err != nil {
		return contracts.DiscoveryResult{}, err
	}
	return discovery.Page(ctx, entry, discovery.Request{
		Key: key, ResourceType: req.ResourceType, Filter: filter, Cursor: cur, HasCursor: req.Cursor != "", Limit: req.Limit,
		Stored: ttl > 0 && outcome != cache.Error, Hit: outcome == cache.Hit, MaxBytes: d.maxBytes, Now: d.now(),
	})
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
	var re *discovery.RequestError
	return errors.As(err, &re)
}
