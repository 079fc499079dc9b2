package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/discovery"
	"github.com/stella-ops/inthub/shared/discoveryfilter"
)

const (
	// discoverTimeout bounds the wait for a discovery's answer: above the
	// worker's own bound on a provider walk (30s), below the server's write
	// timeout.
	discoverTimeout = 40 * time.Second
	// providersTTL is how long the provider specs read from the catalog are
	// reused: they change only when the manager is redeployed.
	providersTTL = time.Minute

	maxDiscoverLimit   = 1000
	maxCursorLength    = 256
	maxRepositoryField = 255
)

var resourceTypeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// discoverEndpoint serves POST /api/v1/integrations/{id}/discover: it checks
// the request against the provider's spec, publishes
// integration.discovery.requested and answers with the matching
// integration.discovery.completed, or answers a cache hit itself from a
// discovery cache it shares with the worker (fromCache). It keeps no state
// beyond the requests in flight, a short-lived copy of the provider specs
// and a bounded memo of encoded hit pages.
type discoverEndpoint struct {
	s         *server
	waiters   *completionWaiters
	pages     *pageMemo
	mu        sync.Mutex
	providers map[string]contracts.ProviderInfo
	fetched   time.Time
	// fetchMu is held while the provider list is fetched.
	fetchMu sync.Mutex
}

func newDiscoverEndpoint(s *server) methods {
	d := &discoverEndpoint{s: s, waiters: newCompletionWaiters(s.nc, completionLinger),
		pages: &pageMemo{pages: map[pageKey]encodedPage{}, maxBytes: memoBytes}}
	return methods{http.MethodPost: d.serve}
}

func (d *discoverEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	tenant, id := principalOf(r.Context()).TenantID, r.PathValue("id")
	refresh, err := boolParam(r, "refresh")
	if err != nil {
		writeError(w, err)
		return
	}
	var req contracts.DiscoveryRequest
	if err := decodeBody(w, r, d.s.cfg.BodyLimit, &req); err != nil {
		writeError(w, err)
		return
	}
	req.Refresh = req.Refresh || refresh
	if err := validateDiscovery(req); err != nil {
		writeError(w, err)
		return
	}
	// The read model knows the integration's provider without a call; what
	// it cannot answer, the manager does.
	it, inView := d.s.reads.integration(r.Context(), tenant, id)
	if !inView {
		var err error
		if it, err = d.s.catalog.Get(r.Context(), catalog.GetRequest{TenantID: tenant, ID: id}); err != nil {
			writeError(w, err) // another tenant's integration is 404 here too
			return
		}
	}
	info, known, err := d.provider(r.Context(), it.TypeID)
	if err != nil {
		writeError(w, err)
		return
	}
	if known && !slices.Contains(info.SupportedResourceTypes, req.ResourceType) {
		writeError(w, unsupportedType(info, req.ResourceType))
		return
	}
	// A hit of a cache shared with the worker is answered here, for an
	// integration the read model holds for the caller's tenant; anything
	// else (a miss, a refresh, a cursor the page cannot follow) is the
	// worker's to answer, errors included.
	if inView && known && !req.Refresh && d.s.discoveryCache != nil {
		if body, ok := d.fromCache(r.Context(), tenant, id, it, req); ok {
			writePage(w, body)
			return
		}
	}
	reqID := uuid.NewString()
	// Subscribe before publishing: on one connection, NATS keeps the order.
	answer, release, err := d.waiters.wait(contracts.Subject(contracts.SubjectDiscoveryCompleted, tenant, id), reqID)
	if err != nil {
		writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the bus cannot be reached"))
		return
	}
	defer release()
	if _, err := d.s.discoverOut.Publish(r.Context(), bus.Event{
		ID: "discovery-request:" + reqID, Subject: contracts.Subject(contracts.SubjectDiscoveryRequested, tenant, id),
		TenantID: tenant, DataSubject: id,
		Data: contracts.DiscoveryRequested{RequestID: reqID, TenantID: tenant, IntegrationID: id, Request: req},
	}); err != nil {
		writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the discovery could not be queued"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), discoverTimeout)
	defer cancel()
	select {
	case data := <-answer:
		d.respond(w, data, info)
	case <-ctx.Done():
		if r.Context().Err() != nil {
			return // the caller left
		}
		writeError(w, apierr.New(http.StatusGatewayTimeout, apierr.Timeout,
			"no discovery result arrived within %s; it will still be published as integration.discovery.completed", discoverTimeout).
			With("requestId", reqID))
	}
}

// fromCache answers a request from the discovery cache when it holds a
// valid entry of the integration's revision: the page the worker would
// answer from the same entry (shared/discovery), encoded as the worker
// encodes it, with a newline as respond adds. ok is false for anything
// else: a resource type not cached (TTL 0), a cursor that is not ours, a
// miss, an expired cursor, the cache unreadable.
func (d *discoverEndpoint) fromCache(ctx context.Context, tenant, id string, it contracts.Integration, req contracts.DiscoveryRequest) ([]byte, bool) {
	if d.s.cfg.DiscoveryCacheSettings.TTLs.For(req.ResourceType, it.Config) <= 0 {
		return nil, false
	}
	filter, err := discoveryfilter.Parse(req.Filter)
	if err != nil {
		return nil, false
	}
	key := cache.Key{TenantID: tenant, IntegrationID: id, ResourceType: req.ResourceType, Filter: req.Filter, Revision: it.Revision}
	cur, err := discovery.DecodeCursor(req.Cursor, key)
	if err != nil {
		return nil, false
	}
	e, found, err := d.s.discoveryCache.Lookup(ctx, key)
	if err != nil || !found {
		return nil, false
	}
	now := time.Now()
	age := int64(e.Age(now) / time.Second)
	pk := pageKey{key: key.String(), revision: key.Revision, discoveredAt: e.DiscoveredAt.UnixNano(), cursor: req.Cursor, limit: req.Limit}
	if p, ok := d.pages.get(pk); ok {
		return p.render(age), true
	}
	res, err := discovery.Page(ctx, e, discovery.Request{
		Key: key, ResourceType: req.ResourceType, Filter: filter, Cursor: cur, HasCursor: req.Cursor != "", Limit: req.Limit,
		Stored: true, Hit: true, MaxBytes: discovery.MaxPageBytes(d.s.nc.MaxPayload()), Now: now,
	})
	if err != nil {
		return nil, false
	}
	body, err := discovery.AppendResult(nil, res)
	if err != nil {
		return nil, false
	}
	if p, ok := cutPage(body); ok {
		d.pages.put(pk, p)
	}
	return append(body, '\n'), true
}

// pageMemo keeps the encoded pages of the cache hits the ingress answered,
// cut around ageSeconds (the one member that changes while an entry
// lives), so a popular page is encoded once per fill rather than once per
// request. A page is named by its entry's key, revision and discoveredAt
// (one fill) and the request's cursor and limit, so it is only ever reused
// for the entry it was cut from; the entry itself is still looked up each
// time (valid, of the revision, not invalidated). It is derived and
// bounded: losing it costs an encoding.
type pageMemo struct {
	mu       sync.Mutex
	pages    map[pageKey]encodedPage
	size     int
	maxBytes int
}

// memoBytes bounds the pages the memo holds.
const memoBytes = 8 << 20

type pageKey struct {
	key          string
	revision     uint64
	discoveredAt int64
	cursor       string
	limit        int
}

// encodedPage is an answer without its ageSeconds value.
type encodedPage struct{ head, tail []byte }

// ageMember precedes the age in an encoded DiscoveryResult; only
// discoveredAt follows it.
const ageMember = `,"ageSeconds":`

// cutPage splits an encoded DiscoveryResult around its age.
func cutPage(body []byte) (encodedPage, bool) {
	i := bytes.LastIndex(body, []byte(ageMember))
	if i < 0 {
		return encodedPage{}, false
	}
	start := i + len(ageMember)
	end := start
	for end < len(body) && body[end] >= '0' && body[end] <= '9' {
		end++
	}
	return encodedPage{head: body[:start:start], tail: body[end:]}, true
}

// render is the answer with age, and the newline respond writes too.
func (p encodedPage) render(age int64) []byte {
	out := make([]byte, 0, len(p.head)+len(p.tail)+21)
	out = append(out, p.head...)
	out = strconv.AppendInt(out, age, 10)
	out = append(out, p.tail...)
	return append(out, '\n')
}

func (m *pageMemo) get(k pageKey) (encodedPage, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pages[k]
	return p, ok
}

func (m *pageMemo) put(k pageKey, p encodedPage) {
	n := len(p.head) + len(p.tail) + len(k.key) + len(k.cursor)
	if n > m.maxBytes/16 {
		return // a page this large is rare: encode it each time
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.pages[k]; ok {
		m.size -= len(old.head) + len(old.tail) + len(k.key) + len(k.cursor)
	}
	for victim, v := range m.pages { // map order: arbitrary victims
		if m.size+n <= m.maxBytes {
			break
		}
		delete(m.pages, victim)
		m.size -= len(v.head) + len(v.tail) + len(victim.key) + len(victim.cursor)
	}
	m.pages[k] = p
	m.size += n
}

// validateDiscovery checks what the ingress can without the provider.
func validateDiscovery(req contracts.DiscoveryRequest) error {
	invalid := func(field, format string, args ...any) error {
		return apierr.BadRequest(apierr.ValidationFailed, format, args...).With("field", field)
	}
	switch {
	case req.ResourceType == "":
		return apierr.BadRequest(apierr.MissingRequiredField, "resourceType is required (e.g. repositories, tags)").With("field", "resourceType")
	case !resourceTypeName.MatchString(req.ResourceType) || len(req.ResourceType) > 64:
		return invalid("resourceType", "resourceType must be a resource type name such as repositories or tags")
	case req.Limit < 0 || req.Limit > maxDiscoverLimit:
		return invalid("limit", "limit must be from 1 to %d", maxDiscoverLimit)
	case len(req.Filter.Repository) > maxRepositoryField:
		return invalid("filter.repository", "filter.repository is longer than %d characters", maxRepositoryField)
	case len(req.Cursor) > maxCursorLength:
		return apierr.BadRequest(apierr.InvalidCursor, "the cursor is not a nextCursor of this discovery")
	}
	var fe *discoveryfilter.FieldError
	if _, err := discoveryfilter.Parse(req.Filter); errors.As(err, &fe) {
		return invalid(fe.Field, "%s", fe.Message)
	}
	return nil
}

// unsupportedType is the 400 listing what the provider discovers.
func unsupportedType(info contracts.ProviderInfo, resourceType string) error {
	supported := info.SupportedResourceTypes
	if supported == nil {
		supported = []string{}
	}
	e := apierr.BadRequest(apierr.UnsupportedResourceType, "%s cannot discover %q (it discovers %v)", info.ID, resourceType, supported)
	if len(supported) == 0 {
		e = apierr.BadRequest(apierr.UnsupportedResourceType, "%s does not support discovery", info.ID)
	}
	return e.With("resourceType", resourceType).With("supportedResourceTypes", supported)
}

// provider returns the spec of a provider id, from a copy of the catalog's
// provider list refreshed every providersTTL (or when an id is missing).
// One caller fetches at a time; those that waited meanwhile take its list,
// so a burst of discoveries asks the manager once, not once each.
func (d *discoverEndpoint) provider(ctx context.Context, typeID string) (contracts.ProviderInfo, bool, error) {
	asked := time.Now()
	d.mu.Lock()
	info, ok := d.providers[typeID]
	fresh := time.Since(d.fetched) < providersTTL
	d.mu.Unlock()
	if ok && fresh {
		return info, true, nil
	}
	d.fetchMu.Lock()
	defer d.fetchMu.Unlock()
	d.mu.Lock()
	info, ok = d.providers[typeID]
	fetchedSince := !d.fetched.Before(asked)
	d.mu.Unlock()
	if fetchedSince {
		return info, ok, nil
	}
	list, err := d.s.catalog.Providers(ctx, catalog.ProvidersRequest{IncludeTestOnly: true})
	if err != nil {
		return contracts.ProviderInfo{}, false, err
	}
	byID := make(map[string]contracts.ProviderInfo, len(list.Items))
	for _, p := range list.Items {
		byID[p.ID] = p
	}
	d.mu.Lock()
	d.providers, d.fetched = byID, time.Now()
	d.mu.Unlock()
	info, ok = byID[typeID]
	return info, ok, nil
}

// respond maps a completion to the HTTP answer: the result as is, or the
// error with the status its code calls for.
func (d *discoverEndpoint) respond(w http.ResponseWriter, data []byte, info contracts.ProviderInfo) {
	c, ok := splitCompletion(data)
	if !ok || (c.Error == nil && c.Result == nil) {
		writeError(w, apierr.New(http.StatusInternalServerError, apierr.Internal, "the discovery answer could not be read"))
		return
	}
	c.write(w, func(b contracts.ErrorBody) *apierr.Error { return discoveryError(b, info) })
}

// writePage answers 200 with an encoded page. Its length is set: without
// it net/http sends a page (larger than its 2 KB buffer) chunked, and the
// caller's read of the body ends only with the last chunk, written after
// the handler returns.
func writePage(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON // shared, never changed: no copy per answer
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// discoveryError gives a worker's error code its HTTP status: refusals of
// the request are 400, a missing thing 404, the provider's rate limit 429,
// its silence 504, and any other failure of the remote system 502.
func discoveryError(b contracts.ErrorBody, info contracts.ProviderInfo) *apierr.Error {
	status := http.StatusBadGateway
	switch b.Code {
	case apierr.UnsupportedResourceType, "NOT_SUPPORTED":
		if _, ok := b.Details["supportedResourceTypes"]; !ok {
			supported := info.SupportedResourceTypes
			if supported == nil {
				supported = []string{}
			}
			b.Details = map[string]any{"supportedResourceTypes": supported}
		}
		b.Code, status = apierr.UnsupportedResourceType, http.StatusBadRequest
	case apierr.ValidationFailed, apierr.InvalidCursor, "INVALID_CONFIG":
		status = http.StatusBadRequest
	case apierr.NotFound, "RESOURCE_NOT_FOUND":
		status = http.StatusNotFound
	case "RATE_LIMITED":
		status = http.StatusTooManyRequests
	case "TIMEOUT":
		status = http.StatusGatewayTimeout
	}
	return apierr.FromBody(status, b)
}

// completionLinger keeps an integration's completion subscription this long
// after its last waiter, so a stream of discoveries does not subscribe and
// unsubscribe for each one.
const completionLinger = 30 * time.Second

// completionWaiters hands each completion to the request waiting for it.
// Requests for one integration share one subscription to its completion
// subject, so an answer reaches this process once, however many callers
// wait on that integration.
type completionWaiters struct {
	nc     *nats.Conn
	linger time.Duration
	mu     sync.Mutex
	subs   map[string]*completionSub
}

func newCompletionWaiters(nc *nats.Conn, linger time.Duration) *completionWaiters {
	return &completionWaiters{nc: nc, linger: linger, subs: map[string]*completionSub{}}
}

type completionSub struct {
	sub     *nats.Subscription
	waiting map[string]chan []byte
	// idleSince is when the last waiter left (zero while some wait).
	idleSince time.Time
	// expiry, when set, will look at the subscription once it may have
	// been idle for the linger time; one timer per subscription.
	expiry *time.Timer
}

// wait registers requestID on subject; release must be called when done.
func (c *completionWaiters) wait(subject, requestID string) (<-chan []byte, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.subs[subject]
	if cs == nil {
		cs = &completionSub{waiting: map[string]chan []byte{}}
		sub, err := c.nc.Subscribe(subject, func(m *nats.Msg) { c.deliver(subject, m.Data) })
		if err != nil {
			return nil, nil, err
		}
		cs.sub = sub
		c.subs[subject] = cs
	}
	ch := make(chan []byte, 1)
	cs.waiting[requestID] = ch
	cs.idleSince = time.Time{}
	return ch, func() { c.release(subject, requestID) }, nil
}

func (c *completionWaiters) release(subject, requestID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.subs[subject]
	if cs == nil {
		return
	}
	delete(cs.waiting, requestID)
	if len(cs.waiting) == 0 {
		cs.idleSince = time.Now()
		if cs.expiry == nil {
			cs.expiry = time.AfterFunc(c.linger, func() { c.expire(subject) })
		}
	}
}

// expire drops a subscription idle for the linger time, or looks again
// when it may be.
func (c *completionWaiters) expire(subject string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.subs[subject]
	switch {
	case cs == nil:
	case len(cs.waiting) > 0 || cs.idleSince.IsZero():
		cs.expiry = nil // busy: the next release schedules a look
	case time.Since(cs.idleSince) < c.linger:
		cs.expiry.Reset(c.linger - time.Since(cs.idleSince))
	default:
		_ = cs.sub.Unsubscribe()
		delete(c.subs, subject)
	}
}

func (c *completionWaiters) deliver(subject string, data []byte) {
	id := requestIDOf(data)
	c.mu.Lock()
	var ch chan []byte
	if cs := c.subs[subject]; cs != nil {
		ch = cs.waiting[id]
	}
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- data:
		default: // a duplicate answer
		}
	}
}

// requestIDOf reads requestId, the first member the worker writes, without
// decoding the rest of a possibly large answer.
func requestIDOf(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key == "requestId" {
			var id string
			if dec.Decode(&id) != nil {
				return ""
			}
			return id
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}
