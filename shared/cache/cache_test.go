package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/cache/cachetest"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

func TestMemoryPassesTheSuite(t *testing.T) {
	t.Parallel()
	cachetest.Run(t, func(_ *testing.T, clock func() time.Time, n int) []cache.Cache {
		m := cache.NewMemory(cache.MemoryOptions{Clock: clock})
		out := make([]cache.Cache, n)
		for i := range out {
			out[i] = m
		}
		return out
	})
}

func TestRedisPassesTheSuite(t *testing.T) {
	t.Parallel()
	srv := testsvc.StartRedis(t)
	cachetest.Run(t, func(t *testing.T, clock func() time.Time, n int) []cache.Cache {
		out := make([]cache.Cache, n)
		for i := range out {
			out[i] = newRedis(t, srv, cache.RedisOptions{Clock: clock})
		}
		return out
	})
}

// TestRedisClusterPassesTheSuite runs the suite on a Redis Cluster of three
// masters: the cache's scripts and multi-key DELs only work there because
// an integration's keys share a hash tag, hence a slot; a missing tag is a
// CROSSSLOT error, which the cache would answer uncached and the suite
// would see as misses.
func TestRedisClusterPassesTheSuite(t *testing.T) {
	t.Parallel()
	cl := testsvc.StartRedisCluster(t, 3)
	cachetest.Run(t, func(t *testing.T, clock func() time.Time, n int) []cache.Cache {
		out := make([]cache.Cache, n)
		for i := range out {
			r, err := cache.NewRedis(cache.RedisOptions{
				Servers: cache.RedisServers{ClusterAddrs: cl.Addrs()[:1]},
				Clock:   clock, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close() })
			out[i] = r
		}
		return out
	})
}

func newRedis(t *testing.T, srv *testsvc.Redis, opts cache.RedisOptions) *cache.Redis {
	t.Helper()
	opts.URL = srv.URL
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := cache.NewRedis(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func items(names ...string) cache.FillFunc {
	return func(context.Context) ([]contracts.Resource, error) {
		out := make([]contracts.Resource, len(names))
		for i, n := range names {
			out[i] = contracts.Resource{Type: "repositories", Name: n}
		}
		return out, nil
	}
}

func TestRedisKeysIndexAndInvalidation(t *testing.T) {
	t.Parallel()
	srv := testsvc.StartRedis(t)
	r := newRedis(t, srv, cache.RedisOptions{})
	ctx := context.Background()
	tenant, id := uuid.NewString(), uuid.NewString()
	repos := cache.Key{TenantID: tenant, IntegrationID: id, ResourceType: "repositories", Revision: 3}
	tags := cache.Key{TenantID: tenant, IntegrationID: id, ResourceType: "tags", Revision: 3, Filter: contracts.DiscoveryFilter{Repository: "team/app"}}
	for _, k := range []cache.Key{repos, tags} {
		if _, _, err := r.Fetch(ctx, k, cache.Options{TTL: cache.DefaultTTLs.For(k.ResourceType, nil)}, items("a")); err != nil {
			t.Fatal(err)
		}
	}
	rc := r.Client()
	keys, err := rc.Keys(ctx, cache.KeyPrefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := map[string]bool{repos.String(): true, tags.String(): true}
	if len(keys) != 2 || !wantKeys[keys[0]] || !wantKeys[keys[1]] {
		t.Fatalf("entry keys %v, want %v", keys, wantKeys)
	}
	if !strings.HasPrefix(repos.String(), "inthub:discovery:{"+tenant+":"+id+"}:repositories:") || len(repos.String()) != len("inthub:discovery:{"+tenant+":"+id+"}:repositories:")+16 {
		t.Fatalf("key %s", repos)
	}
	for k, ttl := range map[string]time.Duration{repos.String(): time.Hour, tags.String(): 5 * time.Minute} {
		pttl, err := rc.PTTL(ctx, k).Result()
		if err != nil || pttl <= ttl-time.Minute || pttl > ttl {
			t.Fatalf("PTTL of %s = %s (%v), want about %s", k, pttl, err, ttl)
		}
	}
	if n, _ := rc.Exists(ctx, "inthub:discovery-lock:{"+tenant+":"+id+"}:repositories:"+cache.FilterHash(repos.Filter)).Result(); n != 0 {
		t.Fatal("the fill's lock outlived it")
	}

	// A result's chunks live as long as its entry and are indexed with it.
	chunks, err := rc.Keys(ctx, "inthub:discovery-chunk:{"+tenant+":"+id+"}:*").Result()
	if err != nil || len(chunks) != 2 {
		t.Fatalf("chunk keys %v (%v), want one per entry", chunks, err)
	}
	for _, k := range chunks {
		pttl, err := rc.PTTL(ctx, k).Result()
		if err != nil || pttl <= 4*time.Minute || pttl > time.Hour {
			t.Fatalf("PTTL of chunk %s = %s (%v), want its entry's", k, pttl, err)
		}
	}
	if err := r.Invalidate(ctx, tenant, id); err != nil {
		t.Fatal(err)
	}
	if n, _ := rc.Exists(ctx, chunks...).Result(); n != 0 {
		t.Fatalf("%d chunks left after invalidation", n)
	}
	if n, _ := rc.Exists(ctx, repos.String(), tags.String(), "inthub:discovery-index:{"+tenant+":"+id+"}").Result(); n != 0 {
		t.Fatalf("%d keys left after invalidation", n)
	}
	if gen, _ := rc.Get(ctx, "inthub:discovery-gen:{"+tenant+":"+id+"}").Result(); gen != "1" {
		t.Fatalf("generation %q, want 1", gen)
	}
}

func TestRedisLockOfACrashedHolderExpires(t *testing.T) {
	t.Parallel()
	srv := testsvc.StartRedis(t)
	r := newRedis(t, srv, cache.RedisOptions{})
	ctx := context.Background()
	key := cache.Key{TenantID: uuid.NewString(), IntegrationID: uuid.NewString(), ResourceType: "repositories", Revision: 1}
	// A replica took the lock and died: nobody renews it.
	lock := "inthub:discovery-lock:{" + key.TenantID + ":" + key.IntegrationID + "}:repositories:" + cache.FilterHash(key.Filter)
	if err := r.Client().Set(ctx, lock, "dead-replica", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	fill := func(ctx context.Context) ([]contracts.Resource, error) {
		calls.Add(1)
		return items("a")(ctx)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := r.Fetch(ctx, key, cache.Options{TTL: time.Hour}, fill); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("filled after %s, before the dead holder's lock expired", d)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d fills, want 1", calls.Load())
	}
}

func TestRedisOutageAnswersUncachedAndRecovers(t *testing.T) {
	t.Parallel()
	srv := testsvc.StartRedis(t)
	reg := prometheus.NewRegistry()
	m, err := cache.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	clock := cachetest.NewClock()
	r := newRedis(t, srv, cache.RedisOptions{Clock: clock.Now, Metrics: m, OpTimeout: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))})
	ctx := context.Background()
	key := cache.Key{TenantID: uuid.NewString(), IntegrationID: uuid.NewString(), ResourceType: "repositories", Revision: 1}
	fetch := func(names ...string) cache.Outcome {
		t.Helper()
		e, o, err := r.Fetch(ctx, key, cache.Options{TTL: time.Hour}, items(names...))
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Items) == 0 || e.Items[len(e.Items)-1].Name != names[len(names)-1] && o != cache.Hit {
			t.Fatalf("items %+v", e.Items)
		}
		return o
	}
	for i, wantOutcome := range []cache.Outcome{cache.Miss, cache.Hit} {
		if o := fetch("a"); o != wantOutcome {
			t.Fatalf("call %d: %s, want %s", i, o, wantOutcome)
		}
	}

	srv.Stop(t)
	for i := range 3 {
		e, o, err := r.Fetch(ctx, key, cache.Options{TTL: time.Hour}, items("a", "b"))
		if err != nil || o != cache.Error || len(e.Items) != 2 {
			t.Fatalf("call %d with Redis down: %v %s %+v", i, err, o, e.Items)
		}
	}
	if v := metricValue(t, reg, "inthub_discovery_cache_unavailable", "", ""); v != 1 {
		t.Fatalf("unavailable gauge %v, want 1", v)
	}
	if n := metricValue(t, reg, "inthub_discovery_cache_requests_total", "result", "error"); n != 3 {
		t.Fatalf("error outcomes counted %v, want 3", n)
	}
	logMu.Lock()
	if c := strings.Count(logs.String(), "discovery cache unavailable"); c != 1 {
		t.Fatalf("%d 'unavailable' log lines, want 1:\n%s", c, logs.String())
	}
	logMu.Unlock()

	srv.Start(t)
	clock.Advance(2 * time.Second) // past RetryAfter: the next call tries Redis
	if o := fetch("a", "b", "c"); o != cache.Miss {
		t.Fatalf("after the restart: %s, want miss (the restart emptied Redis)", o)
	}
	if o := fetch("x"); o != cache.Hit {
		t.Fatalf("after the restart, again: %s, want hit", o)
	}
	if v := metricValue(t, reg, "inthub_discovery_cache_unavailable", "", ""); v != 0 {
		t.Fatalf("unavailable gauge %v after recovery, want 0", v)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "discovery cache available again") {
		t.Fatalf("no recovery log line:\n%s", logs.String())
	}
}

func TestMemoryIsBounded(t *testing.T) {
	t.Parallel()
	m := cache.NewMemory(cache.MemoryOptions{MaxEntries: 10})
	ctx := context.Background()
	for i := range 25 {
		key := cache.Key{TenantID: "t", IntegrationID: uuid.NewString(), ResourceType: "repositories", Revision: 1}
		if _, _, err := m.Fetch(ctx, key, cache.Options{TTL: time.Hour}, items("a")); err != nil {
			t.Fatal(err)
		}
		if m.Len() > 10 {
			t.Fatalf("after %d fills: %d entries", i+1, m.Len())
		}
	}
}

func TestTTLs(t *testing.T) {
	t.Parallel()
	operator := cache.TTLs{"tags": time.Minute}
	tests := []struct {
		name         string
		ttls         cache.TTLs
		resourceType string
		config       map[string]any
		want         time.Duration
	}{
		{"default repositories", nil, "repositories", nil, time.Hour},
		{"default tags", nil, "tags", nil, 5 * time.Minute},
		{"default pipelines", nil, "pipelines", nil, time.Hour},
		{"default channels", nil, "channels", nil, 24 * time.Hour},
		{"projects", nil, "projects", nil, time.Hour},
		{"jobs", nil, "jobs", nil, time.Hour},
		{"undeclared type", nil, "branches", nil, 15 * time.Minute},
		{"operator override", operator, "tags", nil, time.Minute},
		{"operator leaves others", operator, "repositories", nil, time.Hour},
		{"integration override (JSON number)", operator, "tags", map[string]any{cache.ConfigField: float64(30)}, 30 * time.Second},
		{"integration override (int)", nil, "channels", map[string]any{cache.ConfigField: 90}, 90 * time.Second},
		{"integration turns caching off", nil, "repositories", map[string]any{cache.ConfigField: float64(0)}, 0},
		{"other config fields change nothing", nil, "tags", map[string]any{"timeout": float64(3)}, 5 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ttls.For(tc.resourceType, tc.config); got != tc.want {
				t.Fatalf("TTL %s, want %s", got, tc.want)
			}
		})
	}
	parsed, err := cache.ParseTTLs(" tags=2m, repositories=30m ")
	if err != nil || parsed["tags"] != 2*time.Minute || parsed["repositories"] != 30*time.Minute || len(parsed) != 2 {
		t.Fatalf("ParseTTLs: %v %v", parsed, err)
	}
	for _, bad := range []string{"tags", "tags=soon", "=5m", "tags=-1s", "tags=48h"} {
		if _, err := cache.ParseTTLs(bad); err == nil {
			t.Errorf("ParseTTLs(%q) accepted", bad)
		}
	}
}

// TestConfigFieldIsACommonField keeps the per-integration override declared
// where config validation and GET /providers see it.
func TestConfigFieldIsACommonField(t *testing.T) {
	t.Parallel()
	var spec connectors.Spec
	f := spec.Field(cache.ConfigField)
	if f == nil || f.Type != connectors.TypeInt || f.Min != 0 || f.Max != int(cache.MaxTTL/time.Second) {
		t.Fatalf("common field %s = %+v", cache.ConfigField, f)
	}
	for v, ok := range map[float64]bool{0: true, 300: true, 86400: true, 86401: false, -1: false, 1.5: false} {
		if err := spec.ValidateConfig(map[string]any{cache.ConfigField: v}); (err == nil) != ok {
			t.Errorf("%s=%v: %v", cache.ConfigField, v, err)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// metricValue reads one series of reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					match = true
				}
			}
			switch {
			case !match:
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

// TestRedisSentinelSurvivesAFailover runs the cache against a primary, a
// replica and a sentinel, kills the primary, and wants every call answered
// throughout (uncached while no primary takes writes) and entries stored
// on the promoted replica within failoverBound: without passwords, and
// with the data nodes' and the sentinel's own (REDIS_PASSWORD,
// REDIS_SENTINEL_PASSWORD), which the client must send to the promoted
// replica and the sentinel alike.
func TestRedisSentinelSurvivesAFailover(t *testing.T) {
	t.Parallel()
	for _, auth := range []testsvc.SentinelAuth{
		{},
		{Password: "data-" + uuid.NewString(), SentinelPassword: "sentinel-" + uuid.NewString()},
	} {
		name := "without passwords"
		if auth.Password != "" {
			name = "with passwords"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sentinelFailover(t, auth)
		})
	}
}

func sentinelFailover(t *testing.T, auth testsvc.SentinelAuth) {
	// The sentinel declares the primary down after 1s (testsvc), then
	// elects and promotes; a few seconds in all, 20s is the bound we hold
	// the cache to.
	const failoverBound = 20 * time.Second
	rs := testsvc.StartRedisSentinel(t, auth)
	r, err := cache.NewRedis(cache.RedisOptions{
		Servers: cache.RedisServers{SentinelMaster: testsvc.SentinelMaster, SentinelAddrs: []string{rs.Sentinel.Addr},
			Password: auth.Password, SentinelPassword: auth.SentinelPassword},
		Logger:     slog.New(slog.DiscardHandler),
		RetryAfter: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	ctx := context.Background()
	tenant, id := uuid.NewString(), uuid.NewString()
	key := func(n int) cache.Key {
		return cache.Key{TenantID: tenant, IntegrationID: id, ResourceType: "repositories", Revision: uint64(n)}
	}
	opts := cache.Options{TTL: time.Hour}
	fetch := func(k cache.Key) cache.Outcome {
		t.Helper()
		e, o, err := r.Fetch(ctx, k, opts, items("a", "b"))
		if err != nil || len(e.Items) != 2 {
			t.Fatalf("fetch %d: %v, %d items: the cache must answer even while Redis fails over", k.Revision, err, len(e.Items))
		}
		return o
	}
	if o := fetch(key(1)); o != cache.Miss {
		t.Fatalf("first fetch: %s, want miss", o)
	}
	if o := fetch(key(1)); o != cache.Hit {
		t.Fatalf("second fetch: %s, want hit", o)
	}

	rs.Primary.Stop(t)
	killed := time.Now()
	// Each round asks for a new key (a new revision): a miss means the
	// entry was stored, so writes reach a primary again.
	var recovered time.Duration
	var last cache.Key
	outcomes := map[cache.Outcome]int{}
	for n := 2; ; n++ {
		last = key(n)
		o := fetch(last)
		outcomes[o]++
		if o == cache.Miss {
			recovered = time.Since(killed)
			if o := fetch(last); o != cache.Hit {
				t.Fatalf("after the failover the stored entry is a %s, want hit", o)
			}
			break
		}
		if time.Since(killed) > failoverBound {
			t.Fatalf("no write reached a primary within %s of killing it (outcomes %v)", failoverBound, outcomes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("writes reached the new primary %s after the old one was killed (outcomes meanwhile %v)", recovered.Round(time.Millisecond), outcomes)

	// The promoted replica is the primary and holds the entry just stored.
	promoted := redis.NewClient(&redis.Options{Addr: rs.Replica.Addr, Password: auth.Password})
	defer promoted.Close()
	role, err := promoted.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) == 0 || role[0] != "master" {
		t.Fatalf("ROLE of the replica after the failover: %v (%v), want master", role, err)
	}
	if n, err := promoted.Exists(ctx, last.String()).Result(); err != nil || n != 1 {
		t.Fatalf("the entry stored after the failover is not on the promoted replica: %d (%v)", n, err)
	}
	// Invalidation reaches the new primary too.
	if err := r.Invalidate(ctx, tenant, id); err != nil {
		t.Fatal(err)
	}
	if o := fetch(last); o != cache.Miss {
		t.Fatalf("after invalidation: %s, want miss", o)
	}
}

// NewRedis takes exactly one way to the servers; a half-set Sentinel is
// refused rather than read as a plain Redis (the universal client would
// take one address without a master name for a single server).
func TestNewRedisWantsOneTopology(t *testing.T) {
	t.Parallel()
	sentinel := cache.RedisServers{SentinelMaster: "inthub", SentinelAddrs: []string{"127.0.0.1:26379"}}
	cluster := cache.RedisServers{ClusterAddrs: []string{"127.0.0.1:7000"}}
	for _, tc := range []struct {
		name    string
		opts    cache.RedisOptions
		wantErr string
		client  string
	}{
		{"URL", cache.RedisOptions{URL: "redis://127.0.0.1:6379/2"}, "", "*redis.Client"},
		{"Sentinel", cache.RedisOptions{Servers: sentinel}, "", "*redis.Client"},
		{"Cluster of one address", cache.RedisOptions{Servers: cluster}, "", "*redis.ClusterClient"},
		{"nothing", cache.RedisOptions{}, "exactly one", ""},
		{"URL and Cluster", cache.RedisOptions{URL: "redis://127.0.0.1:6379", Servers: cluster}, "exactly one", ""},
		{"Sentinel and Cluster", cache.RedisOptions{Servers: cache.RedisServers{SentinelMaster: "inthub", SentinelAddrs: sentinel.SentinelAddrs, ClusterAddrs: cluster.ClusterAddrs}}, "exactly one", ""},
		{"Sentinel without addresses", cache.RedisOptions{Servers: cache.RedisServers{SentinelMaster: "inthub"}}, "both", ""},
		{"Sentinel without master name", cache.RedisOptions{Servers: cache.RedisServers{SentinelAddrs: sentinel.SentinelAddrs}}, "both", ""},
		{"bad URL", cache.RedisOptions{URL: "http://127.0.0.1:6379"}, "REDIS_URL", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := cache.NewRedis(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := fmt.Sprintf("%T", r.Client()); got != tc.client {
				t.Fatalf("client %s, want %s", got, tc.client)
			}
		})
	}
}
