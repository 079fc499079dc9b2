// Package cachetest is the one test suite every discovery cache passes:
// Run(t, factory) with the in-process cache and with Redis alike, so `make
// run` behaves as a deployment does.
package cachetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Clock is a settable time source.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to the current time (Redis expires entries on
// its own clock too, so the fake one starts from the real one).
func NewClock() *Clock { return &Clock{now: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Factory returns n handles on one cache that read time from clock: n
// replicas sharing one Redis, or one in-process cache n times. Handles may
// share storage with other subtests: each subtest uses tenants of its own.
type Factory func(t *testing.T, clock func() time.Time, n int) []cache.Cache

// Run runs the suite against the caches factory makes.
func Run(t *testing.T, factory Factory) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, f Factory)
	}{
		{"a miss fills, then hits say how old they are", missThenHit},
		{"each resource type keeps its TTL", ttlPerResourceType},
		{"TTL 0 never caches", zeroTTL},
		{"a streamed result is stored in chunks and read a page at a time", streamed},
		{"refresh calls the provider and refills", refresh},
		{"an entry of another revision is a miss", otherRevision},
		{"resource type and filter are part of the key", keyParts},
		{"invalidate empties one integration only", invalidateOne},
		{"a fill running across an invalidation is not stored", invalidateDuringFill},
		{"50 concurrent misses on 3 replicas fill once", concurrentMisses},
		{"a failed fill reaches every caller and is not cached", failedFill},
		{"a caller stops waiting when its context ends", waiterGivesUp},
		{"one key's fill does not hold up another key", independentKeys},
		{"large results and attributes round-trip", largeResult},
		{"lookup reads what another replica stored, never fills", lookup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, factory)
		})
	}
}

// fixture is one subtest's caches, clock and keys.
type fixture struct {
	t      *testing.T
	clock  *Clock
	caches []cache.Cache
	tenant string
}

func newFixture(t *testing.T, f Factory, n int) *fixture {
	t.Helper()
	clock := NewClock()
	return &fixture{t: t, clock: clock, caches: f(t, clock.Now, n), tenant: uuid.NewString()}
}

func (x *fixture) key(integrationID, resourceType string, rev uint64) cache.Key {
	return cache.Key{TenantID: x.tenant, IntegrationID: integrationID, ResourceType: resourceType, Revision: rev}
}

// counter is a fill that counts its calls and returns names.
type counter struct {
	calls atomic.Int64
	mu    sync.Mutex
	names []string
	// gate, if set, is waited for before answering.
	gate chan struct{}
	// started is closed at the first call.
	started   chan struct{}
	startOnce sync.Once
	err       error
}

func newCounter(names ...string) *counter {
	return &counter{names: names, started: make(chan struct{})}
}

func (c *counter) set(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names = names
}

func (c *counter) fill(ctx context.Context) ([]contracts.Resource, error) {
	c.calls.Add(1)
	c.startOnce.Do(func() { close(c.started) })
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]contracts.Resource, len(c.names))
	for i, n := range c.names {
		out[i] = contracts.Resource{Type: "repositories", Name: n, ID: n}
	}
	return out, nil
}

func (x *fixture) fetch(c cache.Cache, key cache.Key, opts cache.Options, fill cache.FillFunc) (cache.Entry, cache.Outcome) {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, o, err := c.Fetch(ctx, key, opts, fill)
	if err != nil {
		x.t.Fatalf("fetch %s: %v", key, err)
	}
	return e, o
}

func names(e cache.Entry) []string {
	out := make([]string, len(e.Items))
	for i, r := range e.Items {
		out[i] = r.Name
	}
	return out
}

func want(t *testing.T, what string, got, wantV any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(wantV) {
		t.Fatalf("%s = %v, want %v", what, got, wantV)
	}
}

const hour = time.Hour

func missThenHit(t *testing.T, f Factory) {
	x := newFixture(t, f, 1)
	c := x.caches[0]
	key := x.key(uuid.NewString(), "repositories", 1)
	fill := newCounter("app", "db")
	e, o := x.fetch(c, key, cache.Options{TTL: hour}, fill.fill)
	want(t, "first outcome", o, cache.Miss)
	want(t, "first items", names(e), []string{"app", "db"})
	want(t, "first age", e.Age(x.clock.Now()), time.Duration(0))
	discovered := e.DiscoveredAt

	x.clock.Advance(42 * time.Second)
	e, o = x.fetch(c, key, cache.Options{TTL: hour}, fill.fill)
	want(t, "second outcome", o, cache.Hit)
	want(t, "second items", names(e), []string{"app", "db"})
	want(t, "age", e.Age(x.clock.Now()), 42*time.Second)
	if !e.DiscoveredAt.Equal(discovered) || e.Revision != 1 {
		t.Fatalf("entry %+v, discovered %s", e, discovered)
	}
	want(t, "fills", fill.calls.Load(), 1)
}

func ttlPerResourceType(t *testing.T, f Factory) {
	types := map[string]time.Duration{
		"repositories": time.Hour, "tags": 5 * time.Minute, "pipelines": time.Hour, "channels": 24 * time.Hour,
		"projects": time.Hour, "jobs": time.Hour, "branches": cache.DefaultTTL,
	}
	for rt, ttl := range types {
		t.Run(rt, func(t *testing.T) {
			t.Parallel()
			want(t, "table TTL of "+rt, cache.DefaultTTLs.For(rt, nil), ttl)
			x := newFixture(t, f, 1)
			c := x.caches[0]
			key := x.key(uuid.NewString(), rt, 1)
			fill := newCounter("a")
			opts := cache.Options{TTL: cache.DefaultTTLs.For(rt, nil)}
			x.fetch(c, key, opts, fill.fill)
			x.clock.Advance(ttl - time.Second)
			if _, o := x.fetch(c, key, opts, fill.fill); o != cache.Hit {
				t.Fatalf("a second before the TTL: %s", o)
			}
			fill.set("a", "b")
			x.clock.Advance(2 * time.Second)
			e, o := x.fetch(c, key, opts, fill.fill)
			want(t, "after the TTL", o, cache.Miss)
			want(t, "items after the TTL", names(e), []string{"a", "b"})
			want(t, "fills", fill.calls.Load(), 2)
		})
	}
}

func zeroTTL(t *testing.T, f Factory) {
	x := newFixture(t, f, 1)
	c := x.caches[0]
	key := x.key(uuid.NewString(), "repositories", 1)
	fill := newCounter("a")
	opts := cache.Options{TTL: cache.DefaultTTLs.For("repositories", map[string]any{cache.ConfigField: float64(0)})}
	want(t, "TTL", opts.TTL, time.Duration(0))
	for range 2 {
		if _, o := x.fetch(c, key, opts, fill.fill); o != cache.Bypass {
			t.Fatalf("outcome %s, want bypass", o)
		}
	}
	want(t, "fills", fill.calls.Load(), 2)
	// Caching on again: nothing was stored meanwhile.
	if _, o := x.fetch(c, key, cache.Options{TTL: hour}, fill.fill); o != cache.Miss {
		t.Fatalf("outcome %s, want miss", o)
	}
}

func refresh(t *testing.T, f Factory) {
	x := newFixture(t, f, 1)
	c := x.caches[0]
	key := x.key(uuid.NewString(), "tags", 1)
	fill := newCounter("v1")
	x.fetch(c, key, cache.Options{TTL: hour}, fill.fill)
	fill.set("v1", "v2")
	x.clock.Advance(time.Minute)
	e, o := x.fetch(c, key, cache.Options{TTL: hour, Refresh: true}, fill.fill)
	want(t, "refresh outcome", o, cache.Bypass)
	want(t, "refreshed items", names(e), []string{"v1", "v2"})
	want(t, "refreshed age", e.Age(x.clock.Now()), time.Duration(0))
	e, o = x.fetch(c, key, cache.Options{TTL: hour}, fill.fill)
	want(t, "after refresh", o, cache.Hit)
	want(t, "items after refresh", names(e), []string{"v1", "v2"})
	want(t, "fills", fill.calls.Load(), 2)
}

func otherRevision(t *testing.T, f Factory) {
	x := newFixture(t, f, 1)
	c := x.caches[0]
	id := uuid.NewString()
	fill := newCounter("a")
	x.fetch(c, x.key(id, "repositories", 1), cache.Options{TTL: hour}, fill.fill)
	if _, o := x.fetch(c, x.key(id, "repositories", 2), cache.Options{TTL: hour}, fill.fill); o != cache.Miss {
		t.Fatalf("revision 2: %s, want miss", o)
	}
	if _, o := x.fetch(c, x.key(id, "repositories", 2), cache.Options{TTL: hour}, fill.fill); o != cache.Hit {
		t.Fatalf("revision 2 again: %s, want hit", o)
	}
	want(t, "fills", fill.calls.Load(), 2)
}

func keyParts(t *testing.T, f Factory) {
	x := newFixture(t, f, 1)
	c := x.caches[0]
	id := uuid.NewString()
	keys := []cache.Key{
		x.key(id, "repositories", 1),
		x.key(id, "tags", 1),
		{TenantID: x.tenant, IntegrationID: id, ResourceType: "tags", Revision: 1, Filter: contracts.DiscoveryFilter{Repository: "team/app"}},
		{TenantID: x.tenant, IntegrationID: id, ResourceType: "tags", Revision: 1, Filter: contracts.DiscoveryFilter{Repository: "team/db"}},
		{TenantID: x.tenant, IntegrationID: id, ResourceType: "tags", Revision: 1, Filter: contracts.DiscoveryFilter{Repository: "team/db", NamePattern: "v1.*"}},
	}
	seen := map[string]bool{}
	for i, k := range keys {
		fill := newCounter(fmt.Sprint("item-", i))
		if _, o := x.fetch(c, k, cache.Options{TTL: hour}, fill.fill); o != cache.Miss {
			t.Fatalf("key %d: %s, want miss", i, o)
		}
		if seen[k.String()] {
			t.Fatalf("key %d repeats %s", i, k)
		}
		seen[k.String()] = true
	}
	for i, k := range keys {
		e, o := x.fetch(c, k, cache.Options{TTL: hour}, newCounter("wrong").fill)
		want(t, fmt.Sprint("key ", i), o, cache.Hit)
		want(t, fmt.Sprint("items of key ", i), names(e), []string{fmt.Sprint("item-", i)})
	}
	want(t, "key format", keys[2].String(),
		"inthub:discovery:{"+x.tenant+":"+id+"}:tags:"+cache.FilterHash(contracts.DiscoveryFilter{Repository: "team/app"}))
}

func invalidateOne(t *testing.T, f Factory) {
	x := newFixture(t, f, 2)
	a, b := uuid.NewString(), uuid.NewString()
	otherTenant := cache.Key{TenantID: uuid.NewString(), IntegrationID: a, ResourceType: "repositories", Revision: 1}
	keys := []cache.Key{x.key(a, "repositories", 1), x.key(a, "tags", 1), x.key(b, "repositories", 1), otherTenant}
	for _, k := range keys {
		x.fetch(x.caches[0], k, cache.Options{TTL: hour}, newCounter("x").fill)
	}
	ctx := context.Background()
	if err := x.caches[1].Invalidate(ctx, x.tenant, a); err != nil {
		t.Fatal(err)
	}
	for i, wantOutcome := range []cache.Outcome{cache.Miss, cache.Miss, cache.Hit, cache.Hit} {
		if _, o := x.fetch(x.caches[0], keys[i], cache.Options{TTL: hour}, newCounter("x").fill); o != wantOutcome {
			t.Fatalf("key %d after invalidating %s: %s, want %s", i, a, o, wantOutcome)
		}
	}
	// Invalidating an integration with nothing cached is fine, twice.
	for range 2 {
		if err := x.caches[0].Invalidate(ctx, x.tenant, uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	}
}

func invalidateDuringFill(t *testing.T, f Factory) {
	x := newFixture(t, f, 2)
	id := uuid.NewString()
	key := x.key(id, "repositories", 1)
	fill := newCounter("stale")
	fill.gate = make(chan struct{})
	done := make(chan cache.Outcome, 1)
	go func() {
		_, o := x.fetch(x.caches[0], key, cache.Options{TTL: hour}, fill.fill)
		done <- o
	}()
	<-fill.started
	if err := x.caches[1].Invalidate(context.Background(), x.tenant, id); err != nil {
		t.Fatal(err)
	}
	close(fill.gate)
	want(t, "outcome of the fill that raced", <-done, cache.Miss)
	fresh := newCounter("fresh")
	e, o := x.fetch(x.caches[0], key, cache.Options{TTL: hour}, fresh.fill)
	want(t, "after the raced fill", o, cache.Miss)
	want(t, "items", names(e), []string{"fresh"})
}

func concurrentMisses(t *testing.T, f Factory) {
	x := newFixture(t, f, 3)
	key := x.key(uuid.NewString(), "repositories", 1)
	fill := newCounter("app", "db")
	fill.gate = make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	var arrived atomic.Int64
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			arrived.Add(1)
			e, o, err := x.caches[i%len(x.caches)].Fetch(ctx, key, cache.Options{TTL: hour}, fill.fill)
			switch {
			case err != nil:
				errs <- err
			case o != cache.Miss && o != cache.Hit:
				errs <- fmt.Errorf("outcome %s", o)
			case !slices.Equal(names(e), []string{"app", "db"}):
				errs <- fmt.Errorf("items %v", names(e))
			}
		}()
	}
	<-fill.started
	// Let every caller reach the cache before the fill answers.
	for arrived.Load() < 50 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(fill.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want(t, "fills", fill.calls.Load(), 1)
	if _, o := x.fetch(x.caches[1], key, cache.Options{TTL: hour}, fill.fill); o != cache.Hit {
		t.Fatalf("afterwards: %s, want hit", o)
	}
}

func failedFill(t *testing.T, f Factory) {
	x := newFixture(t, f, 3)
	key := x.key(uuid.NewString(), "repositories", 1)
	fill := newCounter()
	fill.err = &resilience.Error{Code: resilience.RateLimited, Message: "slow down", RetryAfter: 7 * time.Second}
	fill.gate = make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := x.caches[i%3].Fetch(context.Background(), key, cache.Options{TTL: hour}, fill.fill)
			if resilience.CodeOf(err) == resilience.RateLimited && resilience.RetryAfterOf(err) == 7*time.Second {
				failures.Add(1)
			} else {
				t.Errorf("error %v, want the fill's RATE_LIMITED", err)
			}
		}()
	}
	<-fill.started
	time.Sleep(50 * time.Millisecond)
	close(fill.gate)
	wg.Wait()
	want(t, "callers given the error", failures.Load(), 10)
	// One fill per replica at most: another replica's waiters fill again
	// once the failed holder lets go of the key.
	if n := fill.calls.Load(); n < 1 || n > 3 {
		t.Fatalf("%d fills for 10 callers on 3 replicas", n)
	}
	ok := newCounter("back")
	e, o := x.fetch(x.caches[0], key, cache.Options{TTL: hour}, ok.fill)
	want(t, "after the failure", o, cache.Miss)
	want(t, "items after the failure", names(e), []string{"back"})
}

func waiterGivesUp(t *testing.T, f Factory) {
	x := newFixture(t, f, 2)
	key := x.key(uuid.NewString(), "repositories", 1)
	slow := newCounter("late")
	slow.gate = make(chan struct{})
	defer close(slow.gate)
	go func() { _, _, _ = x.caches[0].Fetch(context.Background(), key, cache.Options{TTL: hour}, slow.fill) }()
	<-slow.started
	for _, c := range x.caches {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		_, _, err := c.Fetch(ctx, key, cache.Options{TTL: hour}, slow.fill)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want the caller's deadline", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("gave up after %s", d)
		}
	}
}

func independentKeys(t *testing.T, f Factory) {
	x := newFixture(t, f, 1)
	id := uuid.NewString()
	slow := newCounter("slow")
	slow.gate = make(chan struct{})
	defer close(slow.gate)
	go func() {
		_, _, _ = x.caches[0].Fetch(context.Background(), x.key(id, "repositories", 1), cache.Options{TTL: hour}, slow.fill)
	}()
	<-slow.started
	e, o := x.fetch(x.caches[0], x.key(id, "tags", 1), cache.Options{TTL: hour}, newCounter("fast").fill)
	want(t, "other key", o, cache.Miss)
	want(t, "other key's items", names(e), []string{"fast"})
}

func largeResult(t *testing.T, f Factory) {
	x := newFixture(t, f, 2)
	key := x.key(uuid.NewString(), "tags", 1)
	const n = 5000
	items := make([]contracts.Resource, n)
	for i := range items {
		items[i] = contracts.Resource{Type: "tags", Name: fmt.Sprintf("v1.%d", i), ID: fmt.Sprintf("team/app:v1.%d", i),
			Attributes: map[string]any{"digest": fmt.Sprintf("sha256:%064d", i), "repository": "team/app", "createdAt": "2026-03-01T08:00:00Z"}}
	}
	fill := func(context.Context) ([]contracts.Resource, error) { return items, nil }
	x.fetch(x.caches[0], key, cache.Options{TTL: hour}, fill)
	e, o := x.fetch(x.caches[1], key, cache.Options{TTL: hour}, fill)
	want(t, "outcome", o, cache.Hit)
	if len(e.Items) != n {
		t.Fatalf("%d items, want %d", len(e.Items), n)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		got, w := e.Items[i], items[i]
		if got.Name != w.Name || got.ID != w.ID || got.Type != w.Type || got.Attributes["digest"] != w.Attributes["digest"] ||
			got.Attributes["createdAt"] != w.Attributes["createdAt"] {
			t.Fatalf("item %d = %+v, want %+v", i, got, w)
		}
	}
}

// streamed fills 1,234 items emitted in provider pages of 70 (pages and
// chunks never line up) and reads them back from another handle: Len,
// Range across chunk boundaries and past the end, Each in order, and the
// fill handing the cache nothing it keeps.
func streamed(t *testing.T, f Factory) {
	x := newFixture(t, f, 2)
	key := x.key(uuid.NewString(), "tags", 1)
	const n = 1234
	fill := func(_ context.Context, emit cache.Emit) error {
		page := make([]contracts.Resource, 0, 70)
		for i := range n {
			page = append(page, contracts.Resource{Type: "tags", Name: fmt.Sprintf("v%d", i), Attributes: map[string]any{"i": float64(i)}})
			if len(page) == cap(page) || i == n-1 {
				if err := emit(page); err != nil {
					return err
				}
				clear(page) // the cache must have copied what it keeps
				page = page[:0]
			}
		}
		return nil
	}
	ctx := context.Background()
	if _, o, err := x.caches[0].FetchStream(ctx, key, cache.Options{TTL: hour}, fill); err != nil || o != cache.Miss {
		t.Fatalf("fill: %v, %v", o, err)
	}
	e, o, err := x.caches[1].FetchStream(ctx, key, cache.Options{TTL: hour}, fill)
	if err != nil || o != cache.Hit || e.Len() != n || e.Items != nil {
		t.Fatalf("hit: %v, %v, %d items (%d decoded up front)", o, err, e.Len(), len(e.Items))
	}
	for _, r := range []struct{ offset, limit, want int }{
		{0, 10, 10}, {cache.ChunkSize - 3, 7, 7}, {cache.ChunkSize * 2, cache.ChunkSize * 3, cache.ChunkSize * 3}, {n - 5, 100, 5}, {n, 10, 0},
	} {
		got, err := e.Range(ctx, r.offset, r.limit)
		if err != nil || len(got) != r.want {
			t.Fatalf("Range(%d, %d): %d items, %v; want %d", r.offset, r.limit, len(got), err, r.want)
		}
		for i, it := range got {
			if it.Name != fmt.Sprintf("v%d", r.offset+i) || it.Attributes["i"] != float64(r.offset+i) {
				t.Fatalf("Range(%d, %d)[%d] = %+v", r.offset, r.limit, i, it)
			}
		}
	}
	next := 0
	err = e.Each(ctx, func(pos int, r contracts.Resource) bool {
		if pos != next || r.Name != fmt.Sprintf("v%d", pos) {
			t.Fatalf("Each gave %s at %d, want v%d", r.Name, pos, next)
		}
		next++
		return true
	})
	if err != nil || next != n {
		t.Fatalf("Each read %d items: %v", next, err)
	}
	// Fetch of the same key decodes the whole result.
	all, o := x.fetch(x.caches[0], key, cache.Options{TTL: hour}, newCounter("unused").fill)
	want(t, "Fetch of a streamed entry", o, cache.Hit)
	if len(all.Items) != n || all.Items[n-1].Name != fmt.Sprintf("v%d", n-1) {
		t.Fatalf("Fetch decoded %d items", len(all.Items))
	}
}

// lookup: a Reader (the ingress's view of the cache) finds nothing before a
// fill, the entry another handle stored after it (same items, same
// discoveredAt), nothing for another revision, tenant or integration, nothing
// once expired, and nothing after an invalidation.
func lookup(t *testing.T, f Factory) {
	x := newFixture(t, f, 2)
	ctx := context.Background()
	reader, ok := x.caches[1].(cache.Reader)
	if !ok {
		t.Fatalf("%T is not a cache.Reader", x.caches[1])
	}
	key := x.key("i1", "repositories", 1)
	if _, found, err := reader.Lookup(ctx, key); found || err != nil {
		t.Fatalf("before a fill: found %v, err %v", found, err)
	}
	c := newCounter("a", "b")
	stored, _, err := x.caches[0].Fetch(ctx, key, cache.Options{TTL: time.Minute}, c.fill)
	if err != nil {
		t.Fatal(err)
	}
	e, found, err := reader.Lookup(ctx, key)
	if err != nil || !found {
		t.Fatalf("after a fill: found %v, err %v", found, err)
	}
	items, err := e.Range(ctx, 0, 10)
	if err != nil || len(items) != 2 || items[0].Name != "a" || !e.DiscoveredAt.Equal(stored.DiscoveredAt) {
		t.Fatalf("looked up %v (%v), discovered %v, want a, b of %v", items, err, e.DiscoveredAt, stored.DiscoveredAt)
	}
	other := key
	other.TenantID = uuid.NewString()
	for name, k := range map[string]cache.Key{"revision": x.key("i1", "repositories", 2), "integration": x.key("i2", "repositories", 1), "tenant": other} {
		if _, found, _ := reader.Lookup(ctx, k); found {
			t.Errorf("found the entry under another %s", name)
		}
	}
	if c.calls.Load() != 1 {
		t.Fatalf("lookups filled: %d calls", c.calls.Load())
	}
	x.clock.Advance(2 * time.Minute)
	if _, found, _ := reader.Lookup(ctx, key); found {
		t.Fatal("found an expired entry")
	}
	x.clock.Advance(-2 * time.Minute)
	if _, found, _ := reader.Lookup(ctx, key); !found {
		t.Fatal("lost the entry")
	}
	if err := x.caches[0].Invalidate(ctx, x.tenant, "i1"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := reader.Lookup(ctx, key); found {
		t.Fatal("found an invalidated entry")
	}
}
