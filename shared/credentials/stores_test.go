package credentials

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const distinctive = "Zq9-distinctive-s3cret-value"

// memStore is an in-memory secret store: a LeaseReader counting reads.
type memStore struct {
	mu      sync.Mutex
	data    map[string]map[string]string
	lease   time.Duration
	fail    error
	reads   atomic.Int64
	blockCh chan struct{}
}

func (m *memStore) ReadSecretLease(ctx context.Context, path string) (StoreSecret, error) {
	m.reads.Add(1)
	if m.blockCh != nil {
		<-m.blockCh
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return StoreSecret{}, m.fail
	}
	d, ok := m.data[path]
	if !ok {
		return StoreSecret{}, resilience.New(resilience.ResourceNotFound, "no secret %q", path)
	}
	return StoreSecret{Data: maps.Clone(d), Lease: m.lease}, nil
}

func (m *memStore) ReadSecret(ctx context.Context, path string) (map[string]string, error) {
	s, err := m.ReadSecretLease(ctx, path)
	return s.Data, err
}

func (m *memStore) set(fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn()
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world is a catalog of integrations over two tenants and one store.
type world struct {
	mu    sync.Mutex
	items []contracts.Integration
	store *memStore
	clock *clock
	s     *Stores
	logs  *bytes.Buffer
}

func newWorld(t *testing.T) *world {
	w := &world{
		store: &memStore{data: map[string]map[string]string{
			"docker/registry": {"credentials": `{"username":"alice","password":"` + distinctive + `"}`, "plain": distinctive},
			"ci/gitlab":       {"access-token": distinctive},
		}},
		clock: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		items: []contracts.Integration{
			{ID: "vault-1", TenantID: "tenant-a", TypeID: "hashicorp-vault", Name: "vault", Revision: 1},
			{ID: "vault-2", TenantID: "tenant-b", TypeID: "hashicorp-vault", Name: "vault", Revision: 1},
			{ID: "dup-1", TenantID: "tenant-a", TypeID: "hashicorp-vault", Name: "twin", Revision: 1},
			{ID: "dup-2", TenantID: "tenant-a", TypeID: "hashicorp-vault", Name: "twin", Revision: 1},
			{ID: "registry-1", TenantID: "tenant-a", TypeID: "docker-registry", Name: "registry", Revision: 1},
		},
		logs: &bytes.Buffer{},
	}
	w.s = &Stores{
		Lookup: func(_ context.Context, tenantID, store string) (contracts.Integration, bool) {
			w.mu.Lock()
			defer w.mu.Unlock()
			return FindStore(slices.Values(w.items), tenantID, store)
		},
		Pool: StoreReaderFunc(func(_ context.Context, it contracts.Integration) (SecretReader, error) {
			if it.TypeID != "hashicorp-vault" {
				return nil, resilience.New(resilience.InvalidConfig, "integration %q is not a secret store", it.ID)
			}
			return w.store, nil
		}),
		TTL:    time.Minute,
		Clock:  w.clock.Now,
		Retry:  resilience.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 3, Multiplier: 1},
		Logger: slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	t.Cleanup(func() {
		if strings.Contains(w.logs.String(), distinctive) {
			t.Errorf("a log line holds the secret: %s", w.logs)
		}
	})
	return w
}

func (w *world) resolve(t *testing.T, tenant, raw string) (Secret, error) {
	t.Helper()
	r := &Resolver{Stores: w.s}
	s, err := r.Resolve(context.Background(), tenant, raw)
	if err != nil && strings.Contains(err.Error(), distinctive) {
		t.Fatalf("error holds the secret: %v", err)
	}
	return s, err
}

func TestStoresResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tenant string
		ref    string
		want   Secret
		code   resilience.Code
		phrase string
	}{
		{name: "by id, JSON key expanded", tenant: "tenant-a", ref: "vault://vault-1/docker/registry#credentials",
			want: Secret{"username": "alice", "password": distinctive}},
		{name: "authref by unique name", tenant: "tenant-a", ref: "authref://vault/ci/gitlab#access-token",
			want: Secret{"value": distinctive, "access-token": distinctive}},
		{name: "plain key", tenant: "tenant-a", ref: "vault://vault-1/docker/registry#plain",
			want: Secret{"value": distinctive, "plain": distinctive}},
		{name: "whole secret", tenant: "tenant-a", ref: "vault://vault-1/ci/gitlab",
			want: Secret{"access-token": distinctive}},
		{name: "other tenant's store by id", tenant: "tenant-b", ref: "vault://vault-1/ci/gitlab#access-token",
			code: resilience.CredentialFetchFailed, phrase: "vault-1"},
		{name: "same name resolves in own tenant", tenant: "tenant-b", ref: "authref://vault/ci/gitlab#access-token",
			want: Secret{"value": distinctive, "access-token": distinctive}},
		{name: "ambiguous name", tenant: "tenant-a", ref: "authref://twin/ci/gitlab#access-token", code: resilience.CredentialFetchFailed},
		{name: "unknown store", tenant: "tenant-a", ref: "vault://nope/ci/gitlab#access-token", code: resilience.CredentialFetchFailed},
		{name: "not a store", tenant: "tenant-a", ref: "vault://registry-1/ci/gitlab#access-token", code: resilience.InvalidConfig},
		{name: "missing secret", tenant: "tenant-a", ref: "vault://vault-1/ci/nope#access-token", code: resilience.ResourceNotFound, phrase: "ci/nope"},
		{name: "missing key", tenant: "tenant-a", ref: "vault://vault-1/ci/gitlab#token", code: resilience.ResourceNotFound,
			phrase: `has no key "token" (it holds keys "access-token")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			got, err := w.resolve(t, tc.tenant, tc.ref)
			if resilience.CodeOf(err) != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			if tc.code != "" {
				if !strings.Contains(err.Error(), tc.phrase) {
					t.Fatalf("error %q does not say %q", err, tc.phrase)
				}
				return
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("got keys %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(tc.want)))
			}
		})
	}
}

// TestStoresCache: values are served from memory within min(lease, TTL),
// refreshed in the last fifth, re-read after expiry, dropped on a new
// revision of the store or Invalidate; a transient failure during refresh
// keeps serving, a deletion stops at once.
func TestStoresCache(t *testing.T) {
	t.Parallel()
	const ref = "vault://vault-1/ci/gitlab#access-token"
	w := newWorld(t)
	get := func() (string, error) {
		s, err := w.resolve(t, "tenant-a", ref)
		return s["value"], err
	}
	change := func(v string) {
		w.store.set(func() { w.store.data["ci/gitlab"] = map[string]string{"access-token": v} })
	}
	mustGet := func(want string) {
		t.Helper()
		v, err := get()
		if err != nil || v != want {
			t.Fatalf("resolved %q, %v; want the value %q", v, err, want)
		}
	}
	mustGet(distinctive)
	mustGet(distinctive)
	if n := w.store.reads.Load(); n != 1 {
		t.Fatalf("%d reads, want 1 (cached)", n)
	}
	change("v2")
	w.clock.Advance(30 * time.Second)
	mustGet(distinctive) // within TTL, not in the refresh window
	w.clock.Advance(20 * time.Second)
	mustGet("v2") // 50s of 60: refreshed ahead of expiry
	if n := w.store.reads.Load(); n != 2 {
		t.Fatalf("%d reads, want 2", n)
	}

	// A transient failure in the refresh window keeps the cached value.
	w.clock.Advance(50 * time.Second)
	w.store.set(func() { w.store.fail = resilience.New(resilience.ConnectionRefused, "dial: connection refused") })
	mustGet("v2")
	if st := w.s.Stats(); st.RefreshFailures != 1 {
		t.Fatalf("stats %+v, want one refresh failure", st)
	}
	if !strings.Contains(w.logs.String(), "serving the cached value") {
		t.Fatalf("no log line for the failed refresh: %s", w.logs)
	}
	// After expiry the failure shows, as CREDENTIAL_FETCH_FAILED.
	w.clock.Advance(20 * time.Second)
	if _, err := get(); resilience.CodeOf(err) != resilience.CredentialFetchFailed {
		t.Fatalf("after expiry with the store down: %v", err)
	}
	w.store.set(func() { w.store.fail = nil })
	mustGet("v2")

	// A deleted secret stops being served at the refresh.
	w.clock.Advance(50 * time.Second)
	w.store.set(func() { delete(w.store.data, "ci/gitlab") })
	if _, err := get(); resilience.CodeOf(err) != resilience.ResourceNotFound {
		t.Fatalf("deleted secret: %v", err)
	}
	change("v3")
	mustGet("v3")

	// A new revision of the store integration drops its values.
	change("v4")
	w.mu.Lock()
	w.items[0].Revision++
	w.mu.Unlock()
	mustGet("v4")
	// So does Invalidate.
	change("v5")
	w.s.Invalidate("vault-1")
	mustGet("v5")
	if st := w.s.Stats(); st.Entries != 1 {
		t.Fatalf("stats %+v, want one entry", st)
	}
}

func TestStoresLeaseShorterThanTTL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.store.lease = 10 * time.Second
	if _, err := w.resolve(t, "tenant-a", "vault://vault-1/ci/gitlab"); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(11 * time.Second)
	if _, err := w.resolve(t, "tenant-a", "vault://vault-1/ci/gitlab"); err != nil {
		t.Fatal(err)
	}
	if n := w.store.reads.Load(); n != 2 {
		t.Fatalf("%d reads, want 2: the lease (10s) bounds the cache, not the TTL (1m)", n)
	}
}

func TestStoresRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.store.set(func() { w.store.fail = resilience.New(resilience.Timeout, "no answer") })
	_, err := w.resolve(t, "tenant-a", "vault://vault-1/ci/gitlab")
	if resilience.CodeOf(err) != resilience.CredentialFetchFailed || resilience.StrategyFor(resilience.CodeOf(err)) != resilience.Backoff {
		t.Fatalf("error %v: want CREDENTIAL_FETCH_FAILED, retried with backoff", err)
	}
	if n := w.store.reads.Load(); n != 3 {
		t.Fatalf("%d reads, want 3 attempts", n)
	}
	w.store.set(func() { w.store.fail = resilience.New(resilience.PermissionDenied, "policy") })
	before := w.store.reads.Load()
	_, err = w.resolve(t, "tenant-a", "vault://vault-1/ci/gitlab")
	if resilience.CodeOf(err) != resilience.PermissionDenied || w.store.reads.Load() != before+1 {
		t.Fatalf("permission denied: %v after %d reads; want no retry", err, w.store.reads.Load()-before)
	}
}

func TestStoresConcurrentMissesReadOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.store.blockCh = make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := w.resolve(t, "tenant-a", "vault://vault-1/ci/gitlab#access-token")
			errs <- err
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(w.store.blockCh)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.store.reads.Load(); n != 1 {
		t.Fatalf("%d reads for 20 concurrent misses, want 1", n)
	}
}

func TestStoresRefuseCycles(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// The store's connector needs a store reference to be built (its
	// clientKeyRef names itself): the nested resolve must fail, not recurse.
	var nested error
	w.s.Pool = StoreReaderFunc(func(ctx context.Context, it contracts.Integration) (SecretReader, error) {
		_, nested = w.s.ResolveStore(ctx, "tenant-a", Ref{Scheme: SchemeVault, Store: "vault-1", Path: "tls/key"})
		return nil, nested
	})
	_, err := w.resolve(t, "tenant-a", "vault://vault-1/ci/gitlab")
	if resilience.CodeOf(nested) != resilience.InvalidConfig || resilience.CodeOf(err) != resilience.InvalidConfig {
		t.Fatalf("cycle: nested %v, outer %v", nested, err)
	}
}

func TestStoresBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.s.MaxEntries = 2
	for _, k := range []string{"a", "b", "c"} {
		w.store.set(func() { w.store.data["p/"+k] = map[string]string{"v": k} })
		if _, err := w.resolve(t, "tenant-a", "vault://vault-1/p/"+k); err != nil {
			t.Fatal(err)
		}
	}
	if st := w.s.Stats(); st.Entries != 2 {
		t.Fatalf("%d entries, want 2", st.Entries)
	}
	// Expired values leave memory within a sweep even if never asked again.
	w.clock.Advance(2 * time.Minute)
	if _, err := w.resolve(t, "tenant-a", "vault://vault-1/p/a"); err != nil {
		t.Fatal(err)
	}
	if st := w.s.Stats(); st.Entries != 1 {
		t.Fatalf("%d entries after the sweep, want 1", st.Entries)
	}
}

func TestFindStore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if it, ok := FindStore(slices.Values(w.items), "tenant-a", "dup-1"); !ok || it.ID != "dup-1" {
		t.Fatalf("by id: %v %v", it.ID, ok)
	}
	if _, ok := FindStore(slices.Values(w.items), "tenant-a", "twin"); ok {
		t.Fatal("an ambiguous name resolved")
	}
	if _, ok := FindStore(slices.Values(w.items), "tenant-c", "vault"); ok {
		t.Fatal("a name resolved in a tenant without it")
	}
}
