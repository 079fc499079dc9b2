package credentials

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// SecretReader reads one secret, as named values, from a secret store. It
// is the method set of connectors.SecretReader, declared here so that this
// package needs nothing from the connector runtime.
type SecretReader interface {
	ReadSecret(ctx context.Context, path string) (map[string]string, error)
}

// StoreSecret is a secret as a store returned it, with what the store says
// about its lifetime.
type StoreSecret struct {
	Data map[string]string
	// Lease is how long the store says the value stays valid; 0 = no lease.
	Lease time.Duration
	// Version names the version read (a KV version, an AWS version id, ...),
	// for diagnostics; it is not secret.
	Version string
}

// LeaseReader is a SecretReader whose reads carry a lease; Stores prefers
// it, so that a value is never cached past its lease.
type LeaseReader interface {
	ReadSecretLease(ctx context.Context, path string) (StoreSecret, error)
}

// StoreReaders gives the SecretReader of a secret-store integration: in the
// services, the connector pool's connector of that integration (see
// connectors/secrets.Readers).
type StoreReaders interface {
	StoreReader(ctx context.Context, store contracts.Integration) (SecretReader, error)
}

// StoreReaderFunc adapts a function to StoreReaders.
type StoreReaderFunc func(ctx context.Context, store contracts.Integration) (SecretReader, error)

// StoreReader implements StoreReaders.
func (f StoreReaderFunc) StoreReader(ctx context.Context, store contracts.Integration) (SecretReader, error) {
	return f(ctx, store)
}

// Defaults of Stores.
const (
	// DefaultTTL is the longest a resolved value is kept: authentication
	// checks run every 5 minutes by default, so a changed or revoked secret
	// is seen within one authentication check period.
	DefaultTTL = 5 * time.Minute
	// DefaultMaxEntries bounds the cache.
	DefaultMaxEntries = 10000
	// refreshFraction is the part of a value's lifetime left when the next
	// resolve refreshes it ahead of expiry.
	refreshFraction = 5 // the last fifth
	// sweepEvery is how often expired values are dropped from memory.
	sweepEvery = time.Minute
)

// DefaultStoreRetry is how a store read that failed for a transient reason
// (CREDENTIAL_FETCH_FAILED) is retried before the error goes to the caller,
// who may retry the whole operation in turn.
func DefaultStoreRetry() resilience.Policy {
	return resilience.Policy{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, MaxElapsed: 5 * time.Second,
		MaxAttempts: 3, Multiplier: 2, RandomizationFactor: 0.5, MaxRetryAfter: 5 * time.Second}
}

// Stores resolves vault:// and authref:// references through the
// referenced secret-store integration of the same tenant, and keeps what it
// read in memory for a bounded time. It implements StoreResolver.
//
// The store part of a reference is the store integration's id, or its name
// when that name is unique within the tenant (so
// authref://vault/gitlab#access-token names the store "vault"); Lookup
// decides, and FindStore implements that rule over a list of integrations.
// Another tenant's store is never used: Lookup is asked for the caller's
// tenant, and an answer of another tenant is refused again here.
//
// A value is cached per tenant and reference until min(lease, TTL) after it
// was read; the first resolve in the last fifth of that time reads it again
// (a transient failure then keeps serving the cached value until it
// expires; a definitive answer — not found, denied — drops it at once). A
// new revision of the store integration, or Invalidate, drops its values.
// Values are never logged, published, stored or put into an error.
//
// Set Lookup and Pool; the rest has defaults. Stores must not be copied
// after first use.
type Stores struct {
	// Lookup finds the secret-store integration a reference names within
	// one tenant.
	Lookup func(ctx context.Context, tenantID, store string) (contracts.Integration, bool)
	// Pool gives the store integration's connector.
	Pool StoreReaders
	// TTL bounds how long a value is kept; 0 means DefaultTTL.
	TTL time.Duration
	// MaxEntries bounds the cache; 0 means DefaultMaxEntries.
	MaxEntries int
	// Clock defaults to time.Now; tests inject theirs.
	Clock func() time.Time
	// Retry bounds the retries of transient store failures; the zero
	// Policy means DefaultStoreRetry (set MaxAttempts 1 for none).
	Retry resilience.Policy
	// Logger, if set, gets one line per refresh that failed and fell back
	// to the cached value: tenant, store and code, never a value.
	Logger *slog.Logger

	mu        sync.Mutex
	entries   map[string]*cacheEntry
	inflight  map[string]*fetchCall
	lastSweep time.Time
	stats     storeStats
}

var _ StoreResolver = (*Stores)(nil)

// cacheEntry is one resolved reference.
type cacheEntry struct {
	tenantID, storeID string
	revision          uint64
	secret            Secret
	refreshAt         time.Time
	expires           time.Time
	refreshing        bool
}

// fetchCall is a read in progress that concurrent misses of one key share.
type fetchCall struct {
	done   chan struct{}
	secret Secret
	err    error
}

type storeStats struct {
	hits, misses, refreshes, refreshFailures, errors atomic.Int64
}

// StoreStats counts what the cache did; it has no labels, so nothing about
// a tenant, a path or a value can reach a metric through it.
type StoreStats struct {
	Hits, Misses, Refreshes, RefreshFailures, Errors int64
	Entries                                          int
}

// Stats returns the counters.
func (s *Stores) Stats() StoreStats {
	s.mu.Lock()
	n := len(s.entries)
	s.mu.Unlock()
	return StoreStats{Hits: s.stats.hits.Load(), Misses: s.stats.misses.Load(), Refreshes: s.stats.refreshes.Load(),
		RefreshFailures: s.stats.refreshFailures.Load(), Errors: s.stats.errors.Load(), Entries: n}
}

// ResolveStore implements StoreResolver.
func (s *Stores) ResolveStore(ctx context.Context, tenantID string, ref Ref) (Secret, error) {
	if ref.Scheme != SchemeVault && ref.Scheme != SchemeAuthRef {
		return nil, resilience.New(resilience.InvalidConfig, "%s references are not resolved through a secret store", ref.Scheme)
	}
	if s.Lookup == nil || s.Pool == nil {
		return nil, resilience.New(resilience.CredentialFetchFailed, "secret stores are not configured in this service")
	}
	store, ok := s.Lookup(ctx, tenantID, ref.Store)
	if !ok || store.TenantID != tenantID {
		s.stats.errors.Add(1)
		// The integration itself exists; what cannot be had is its
		// credential, so this is a credential failure (retried: the store
		// may be created in a moment), not a 404 of the caller's integration.
		return nil, resilience.New(resilience.CredentialFetchFailed,
			"credential reference names secret store %q, which is neither the id nor the unique name of an integration of this tenant", ref.Store)
	}
	if resolving(ctx, store.ID) {
		return nil, resilience.New(resilience.InvalidConfig,
			"secret store %q needs its own secrets to be reached: a store's credentials must be env:// or file:// references", store.ID)
	}
	key := tenantID + "\x00" + store.ID + "\x00" + ref.Path + "\x00" + ref.Key
	now := s.now()

	s.mu.Lock()
	s.init(now)
	e, cached := s.entries[key]
	if cached && (e.revision != store.Revision || !now.Before(e.expires)) {
		delete(s.entries, key)
		cached = false
	}
	if cached {
		if now.Before(e.refreshAt) || e.refreshing {
			secret := maps.Clone(e.secret)
			s.mu.Unlock()
			s.stats.hits.Add(1)
			return secret, nil
		}
		e.refreshing = true
		s.mu.Unlock()
		return s.refresh(ctx, key, e, store, ref)
	}
	s.mu.Unlock()
	s.stats.misses.Add(1)
	secret, err := s.shared(ctx, key, store, ref)
	if err != nil {
		s.stats.errors.Add(1)
		return nil, err
	}
	return secret, nil
}

// refresh reads a value whose refresh time has come. A transient failure
// keeps the cached value (it is still within its lifetime); a definitive
// one drops it, so a deleted or revoked secret stops being used at once.
func (s *Stores) refresh(ctx context.Context, key string, old *cacheEntry, store contracts.Integration, ref Ref) (Secret, error) {
	s.stats.refreshes.Add(1)
	secret, err := s.shared(ctx, key, store, ref)
	if err == nil {
		return secret, nil
	}
	code := resilience.CodeOf(err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if code != resilience.CredentialFetchFailed {
		if s.entries[key] == old {
			delete(s.entries, key)
		}
		s.stats.errors.Add(1)
		return nil, err
	}
	s.stats.refreshFailures.Add(1)
	if s.Logger != nil {
		s.Logger.Warn("secret refresh failed, serving the cached value until it expires",
			"tenant_id", store.TenantID, "integration_id", store.ID, "provider", store.TypeID, "error_code", string(code))
	}
	old.refreshing = false
	// Try again after a while rather than on every resolve.
	old.refreshAt = s.now().Add(old.expires.Sub(s.now()) / 2)
	return maps.Clone(old.secret), nil
}

// shared runs one read per key at a time; concurrent callers wait for it.
func (s *Stores) shared(ctx context.Context, key string, store contracts.Integration, ref Ref) (Secret, error) {
	s.mu.Lock()
	if call, ok := s.inflight[key]; ok {
		s.mu.Unlock()
		select {
		case <-call.done:
			if call.err != nil {
				return nil, call.err
			}
			return maps.Clone(call.secret), nil
		case <-ctx.Done():
			return nil, resilience.Wrap(resilience.CredentialFetchFailed, ctx.Err(), "waiting for secret store %q", store.ID)
		}
	}
	call := &fetchCall{done: make(chan struct{})}
	s.inflight[key] = call
	s.mu.Unlock()

	secret, lifetime, err := s.fetch(ctx, store, ref)
	now := s.now()
	s.mu.Lock()
	delete(s.inflight, key)
	if err == nil {
		s.put(key, &cacheEntry{
			tenantID: store.TenantID, storeID: store.ID, revision: store.Revision, secret: secret,
			refreshAt: now.Add(lifetime - lifetime/refreshFraction), expires: now.Add(lifetime),
		})
	}
	s.mu.Unlock()
	call.secret, call.err = secret, err
	close(call.done)
	if err != nil {
		return nil, err
	}
	return maps.Clone(secret), nil
}

// fetch reads the reference from the store, retrying transient failures.
func (s *Stores) fetch(ctx context.Context, store contracts.Integration, ref Ref) (Secret, time.Duration, error) {
	ctx = withResolving(ctx, store.ID)
	reader, err := s.Pool.StoreReader(ctx, store)
	if err != nil {
		return nil, 0, storeError(store, ref, err)
	}
	policy := s.Retry
	if policy == (resilience.Policy{}) {
		policy = DefaultStoreRetry()
	}
	var got StoreSecret
	err = resilience.Do(ctx, policy, func(ctx context.Context) error {
		var err error
		if lr, ok := reader.(LeaseReader); ok {
			got, err = lr.ReadSecretLease(ctx, ref.Path)
		} else {
			got.Data, err = reader.ReadSecret(ctx, ref.Path)
		}
		return storeError(store, ref, err)
	})
	if err != nil {
		return nil, 0, err
	}
	secret, err := selectKey(got.Data, store, ref)
	if err != nil {
		return nil, 0, err
	}
	lifetime := s.TTL
	if lifetime <= 0 {
		lifetime = DefaultTTL
	}
	if got.Lease > 0 && got.Lease < lifetime {
		lifetime = got.Lease
	}
	return secret, lifetime, nil
}

// storeError gives a store failure the code its callers act on: a store
// that could not answer is CREDENTIAL_FETCH_FAILED (retried with backoff),
// whatever the transport said; a definitive answer keeps its own code.
func storeError(store contracts.Integration, ref Ref, err error) error {
	if err == nil {
		return nil
	}
	switch resilience.CodeOf(err) {
	case resilience.ResourceNotFound, resilience.PermissionDenied, resilience.AuthenticationFailed,
		resilience.InvalidConfig, resilience.NotSupported, resilience.DestinationBlocked,
		resilience.CredentialFetchFailed, resilience.IntegrationNotFound:
		return fmt.Errorf("read secret %q from store %q: %w", ref.Path, store.ID, err)
	}
	return &resilience.Error{Code: resilience.CredentialFetchFailed, RetryAfter: resilience.RetryAfterOf(err),
		Message: fmt.Sprintf("secret store %q could not be read (secret %q)", store.ID, ref.Path), Err: err}
}

// selectKey picks ref's key out of a store secret. A key whose value is a
// JSON object (a #credentials key holding username and password) is
// expanded into its fields; a plain value is under "value" and its own name.
// Without a key the whole secret is the credential.
func selectKey(data map[string]string, store contracts.Integration, ref Ref) (Secret, error) {
	if ref.Key == "" {
		if len(data) == 0 {
			return nil, resilience.New(resilience.ResourceNotFound, "secret %q in store %q holds no values", ref.Path, store.ID)
		}
		return Secret(maps.Clone(data)), nil
	}
	v, ok := data[ref.Key]
	if !ok {
		return nil, resilience.New(resilience.ResourceNotFound, "secret %q in store %q has no key %q (it holds %s)",
			ref.Path, store.ID, ref.Key, keyList(data))
	}
	if fields, ok := jsonObject(v); ok {
		return fields, nil
	}
	return Secret{"value": v, ref.Key: v}, nil
}

// jsonObject reads v as a JSON object; nested values are kept as JSON.
func jsonObject(v string) (Secret, bool) {
	var m map[string]any
	if len(v) < 2 || v[0] != '{' || json.Unmarshal([]byte(v), &m) != nil || len(m) == 0 {
		return nil, false
	}
	return Secret(StringValues(m)), true
}

// StringValues turns a store's JSON values into strings: strings as they
// are, everything else (numbers, booleans, objects) as JSON.
func StringValues(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		default:
			b, err := json.Marshal(x)
			if err != nil {
				b = []byte(fmt.Sprint(x))
			}
			out[k] = string(b)
		}
	}
	return out
}

func keyList(data map[string]string) string {
	if len(data) == 0 {
		return "no keys"
	}
	keys := slices.Sorted(maps.Keys(data))
	for i := range keys {
		keys[i] = fmt.Sprintf("%q", truncate(keys[i], 64))
	}
	if len(keys) > 20 {
		keys = append(keys[:20], "…")
	}
	return "keys " + strings.Join(keys, ", ")
}

// Invalidate drops every value read from store integration storeID: call it
// when that integration is updated or deleted. (A new revision is noticed
// on the next resolve anyway; Invalidate also frees the memory now.)
func (s *Stores) Invalidate(storeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.entries {
		if e.storeID == storeID {
			delete(s.entries, k)
		}
	}
}

// Flush drops every cached value.
func (s *Stores) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.entries)
}

func (s *Stores) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// init makes the maps and, once a minute, drops expired values so that a
// secret nobody asks for again does not stay in memory. Called locked.
func (s *Stores) init(now time.Time) {
	if s.entries == nil {
		s.entries, s.inflight, s.lastSweep = map[string]*cacheEntry{}, map[string]*fetchCall{}, now
	}
	if now.Sub(s.lastSweep) < sweepEvery {
		return
	}
	s.lastSweep = now
	for k, e := range s.entries {
		if !now.Before(e.expires) {
			delete(s.entries, k)
		}
	}
}

// put stores an entry, evicting the one closest to expiry when full.
// Called locked.
func (s *Stores) put(key string, e *cacheEntry) {
	if s.entries == nil {
		s.entries, s.inflight = map[string]*cacheEntry{}, map[string]*fetchCall{}
	}
	limit := s.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxEntries
	}
	if _, ok := s.entries[key]; !ok && len(s.entries) >= limit {
		var victim string
		var soonest time.Time
		for k, x := range s.entries {
			if victim == "" || x.expires.Before(soonest) {
				victim, soonest = k, x.expires
			}
		}
		delete(s.entries, victim)
	}
	s.entries[key] = e
}

// resolvingKey marks a context as resolving through given stores, so that a
// store whose own connector needs a store reference (its clientKeyRef
// pointing at itself, say) fails instead of recursing.
type resolvingKey struct{}

func withResolving(ctx context.Context, storeID string) context.Context {
	prev, _ := ctx.Value(resolvingKey{}).([]string)
	return context.WithValue(ctx, resolvingKey{}, append(slices.Clip(prev), storeID))
}

func resolving(ctx context.Context, storeID string) bool {
	ids, _ := ctx.Value(resolvingKey{}).([]string)
	return slices.Contains(ids, storeID)
}

// FindStore picks the store a reference names among integrations: the one
// of tenantID whose id is store, else the only one of tenantID named store
// exactly. A name two integrations of the tenant share names none: the
// reference must use an id then.
func FindStore(integrations iter.Seq[contracts.Integration], tenantID, store string) (contracts.Integration, bool) {
	var byName contracts.Integration
	names := 0
	for it := range integrations {
		if it.TenantID != tenantID {
			continue
		}
		if it.ID == store {
			return it, true
		}
		if it.Name == store {
			byName = it
			names++
		}
	}
	return byName, names == 1
}
