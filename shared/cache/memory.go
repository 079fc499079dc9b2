package cache

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// MemoryOptions configures NewMemory.
type MemoryOptions struct {
	// Clock is the time source of TTLs and ages (time.Now if nil).
	Clock func() time.Time
	// MaxEntries bounds the cache (10000 if 0): past it, expired entries are
	// swept, then arbitrary ones evicted.
	MaxEntries int
	Metrics    *Metrics
}

// Memory is the in-process discovery cache of `make run`: the same
// behaviour as Redis (TTL, single flight, invalidation) within one process.
type Memory struct {
	clock      func() time.Time
	maxEntries int
	metrics    *Metrics
	flight     flight

	mu      sync.Mutex
	entries map[string]Entry
	// gens counts invalidations per integration: a fill that began under an
	// older generation does not store its result.
	gens map[string]uint64
	// index lists the entry keys of each integration.
	index map[string]map[string]struct{}
}

var _ Cache = (*Memory)(nil)

// NewMemory returns an empty in-process cache.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	return &Memory{
		clock: opts.Clock, maxEntries: opts.MaxEntries, metrics: opts.Metrics,
		entries: map[string]Entry{}, gens: map[string]uint64{}, index: map[string]map[string]struct{}{},
	}
}

// Fetch implements Cache.
func (m *Memory) Fetch(ctx context.Context, key Key, opts Options, fill FillFunc) (Entry, Outcome, error) {
	e, o, err := m.FetchStream(ctx, key, opts, streamOf(fill))
	e, err = withItems(ctx, e, err)
	return e, o, err
}

// FetchStream implements Cache: the entry holds the encoded chunks.
func (m *Memory) FetchStream(ctx context.Context, key Key, opts Options, fill StreamFillFunc) (Entry, Outcome, error) {
	e, o, err := m.fetch(ctx, key, opts, fill)
	m.metrics.observe(o)
	return e, o, err
}

func (m *Memory) fetch(ctx context.Context, key Key, opts Options, fill StreamFillFunc) (Entry, Outcome, error) {
	ks := key.String()
	fk := flightKey(ks, key, opts)
	if opts.TTL <= 0 {
		r, err := m.flight.do(ctx, fk, func(ctx context.Context) (result, error) {
			e, err := produce(ctx, fill, &memorySink{})
			return result{entry: stamp(e, key, m.clock(), 0), outcome: Bypass}, err
		})
		return r.entry, Bypass, err
	}
	if !opts.Refresh {
		if e, ok := m.lookup(ks, key); ok {
			return e, Hit, nil
		}
	}
	r, err := m.flight.do(ctx, fk, func(ctx context.Context) (result, error) {
		if !opts.Refresh {
			// A fill that ended between our lookup and this flight counts.
			if e, ok := m.lookup(ks, key); ok {
				return result{entry: e, outcome: Hit}, nil
			}
		}
		gen := m.generation(key)
		e, err := produce(ctx, fill, &memorySink{})
		if err != nil {
			return result{}, err
		}
		e = stamp(e, key, m.clock(), opts.TTL)
		m.store(ks, key, gen, e)
		outcome := Miss
		if opts.Refresh {
			outcome = Bypass
		}
		return result{entry: e, outcome: outcome}, nil
	})
	if err != nil {
		return Entry{}, failedOutcome(r, opts), err
	}
	return r.entry, r.outcome, nil
}

// flightKey separates fills that must not share a result: another
// revision, a refresh, an uncached call.
func flightKey(ks string, key Key, opts Options) string {
	k := ks + "|" + strconv.FormatUint(key.Revision, 10)
	switch {
	case opts.TTL <= 0:
		k += "|uncached"
	case opts.Refresh:
		k += "|refresh"
	}
	return k
}

func (m *Memory) lookup(ks string, key Key) (Entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[ks]
	if !ok || !e.valid(key, m.clock()) {
		return Entry{}, false
	}
	return e, true
}

func (m *Memory) generation(key Key) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gens[key.integration()]
}

// store keeps e unless the integration was invalidated since gen was read.
func (m *Memory) store(ks string, key Key, gen uint64, e Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := key.integration()
	if m.gens[in] != gen {
		return
	}
	if _, exists := m.entries[ks]; !exists && len(m.entries) >= m.maxEntries {
		m.evict()
	}
	m.entries[ks] = e
	if m.index[in] == nil {
		m.index[in] = map[string]struct{}{}
	}
	m.index[in][ks] = struct{}{}
}

// evict sweeps expired entries, then drops arbitrary ones (map order) until
// there is room; called with mu held.
func (m *Memory) evict() {
	now := m.clock()
	for k, e := range m.entries {
		if !now.Before(e.ExpiresAt) {
			m.drop(k)
		}
	}
	for k := range m.entries {
		if len(m.entries) < m.maxEntries {
			return
		}
		m.drop(k)
	}
}

func (m *Memory) drop(ks string) {
	delete(m.entries, ks)
	for in, keys := range m.index {
		if _, ok := keys[ks]; ok {
			delete(keys, ks)
			if len(keys) == 0 {
				delete(m.index, in)
			}
			return
		}
	}
}

// Invalidate implements Cache.
func (m *Memory) Invalidate(_ context.Context, tenantID, integrationID string) error {
	in := Key{TenantID: tenantID, IntegrationID: integrationID}.integration()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gens[in]++
	for ks := range m.index[in] {
		delete(m.entries, ks)
	}
	delete(m.index, in)
	return nil
}

// Len is the number of entries held (expired ones included until swept).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Close implements Cache; there is nothing to release.
func (m *Memory) Close() error { return nil }

var _ Reader = (*Memory)(nil)

// Lookup implements Reader.
func (m *Memory) Lookup(_ context.Context, key Key) (Entry, bool, error) {
	e, ok := m.lookup(key.String(), key)
	if ok {
		m.metrics.observe(Hit)
	}
	return e, ok, nil
}
