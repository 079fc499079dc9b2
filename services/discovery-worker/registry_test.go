package discoveryworker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	"github.com/stella-ops/inthub/shared/cache/cachetest"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/telemetry/metrictest"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// countingProxy forwards to a registry and counts the requests per path.
type countingProxy struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{calls: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.calls[r.Method+" "+r.URL.Path]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *countingProxy) count(methodPath string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[methodPath]
}

const catalogPath = "GET /v2/_catalog"

// TestRealRegistryThroughRedisOnTwoReplicas is the "must show"
// against a real Docker Registry of 200 repositories with three tags each,
// two worker replicas sharing one real Redis: complete and correct
// discovery of repositories and tags, hits, the default TTLs, refresh,
// invalidation by an update, 50 concurrent cold calls reaching the registry
// once, and Redis stopped and restarted mid-test.
func TestRealRegistryThroughRedisOnTwoReplicas(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{})
	redisSrv := testsvc.StartRedis(t)
	repos := make([]string, 200)
	for i := range repos {
		repos[i] = fmt.Sprintf("team/svc-%03d", i)
	}
	digests := reg.PushAll(t, repos, "v1.0.0", "v1.1.0", "latest")
	proxy := newCountingProxy(t, reg.URL)

	e := newEnv(t)
	clock := cachetest.NewClock()
	cfg := discoveryworker.Config{
		Registry: connectors.NewRegistry(dockerregistry.Spec), Policy: httpx.GuardPolicy{AllowPrivate: true},
		RedisURL: redisSrv.URL, Clock: clock.Now,
	}
	m1, m2 := e.start(cfg), e.start(cfg)
	it := e.put(contracts.Integration{TypeID: dockerregistry.ProviderID, Config: map[string]any{"url": proxy.URL, "resolveDigests": true}})
	repositories := contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 1000}

	// Repositories: complete and correct, then a hit.
	res := result(t, e.discover(it, repositories))
	if !slices.Equal(names(res.Items), repos) || res.CacheHit || res.NextCursor != "" {
		t.Fatalf("repositories: %d items (hit %v, next %q), first %v", len(res.Items), res.CacheHit, res.NextCursor, names(res.Items)[:3])
	}
	for _, r := range res.Items {
		if r.Type != "repositories" || r.ID != r.Name {
			t.Fatalf("repository resource %+v", r)
		}
	}
	res = result(t, e.discover(it, repositories))
	if !res.CacheHit || len(res.Items) != 200 || proxy.count(catalogPath) != 1 {
		t.Fatalf("second call: hit %v, %d items, %d catalog requests", res.CacheHit, len(res.Items), proxy.count(catalogPath))
	}

	// Default pages of 100 follow each other by cursor, from the cache.
	var paged []string
	cursor := ""
	for page := 1; ; page++ {
		res = result(t, e.discover(it, contracts.DiscoveryRequest{ResourceType: "repositories", Cursor: cursor}))
		if len(res.Items) != 100 || !res.CacheHit {
			t.Fatalf("page %d: %d items, hit %v", page, len(res.Items), res.CacheHit)
		}
		paged = append(paged, names(res.Items)...)
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, repos) {
		t.Fatalf("paged %d names", len(paged))
	}

	// A name pattern is a key of its own.
	res = result(t, e.discover(it, contracts.DiscoveryRequest{ResourceType: "repositories", Filter: contracts.DiscoveryFilter{NamePattern: "team/svc-01*"}}))
	if want := repos[10:20]; !slices.Equal(names(res.Items), want) || res.CacheHit {
		t.Fatalf("namePattern: %v (hit %v), want %v", names(res.Items), res.CacheHit, want)
	}

	// Tags carry their digests.
	tags := contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{Repository: "team/svc-007"}}
	checkTags := func(res contracts.DiscoveryResult, want ...string) {
		t.Helper()
		if got := names(res.Items); !slices.Equal(got, want) {
			t.Fatalf("tags %v, want %v", got, want)
		}
		for _, tag := range res.Items {
			d, _ := tag.Attributes["digest"].(string)
			if tag.Type != "tags" || tag.ID != "team/svc-007:"+tag.Name || d == "" || (digests["team/svc-007"][tag.Name] != "" && d != digests["team/svc-007"][tag.Name]) {
				t.Fatalf("tag %+v, pushed digest %s", tag, digests["team/svc-007"][tag.Name])
			}
		}
	}
	res = result(t, e.discover(it, tags))
	checkTags(res, "latest", "v1.0.0", "v1.1.0")
	if res.CacheHit {
		t.Fatal("first tags call was a hit")
	}
	tagRequests := proxy.count("GET /v2/team/svc-007/tags/list")

	// A tag pushed now is not seen before the tags TTL (5 minutes), then is.
	digests["team/svc-007"]["v2.0.0"] = reg.Push(t, "team/svc-007", "v2.0.0")["v2.0.0"]
	clock.Advance(4*time.Minute + 59*time.Second)
	res = result(t, e.discover(it, tags))
	checkTags(res, "latest", "v1.0.0", "v1.1.0")
	if !res.CacheHit || res.AgeSeconds != 299 || proxy.count("GET /v2/team/svc-007/tags/list") != tagRequests {
		t.Fatalf("tags within the TTL: hit %v, age %d", res.CacheHit, res.AgeSeconds)
	}
	clock.Advance(2 * time.Second)
	res = result(t, e.discover(it, tags))
	checkTags(res, "latest", "v1.0.0", "v1.1.0", "v2.0.0")
	if res.CacheHit || res.AgeSeconds != 0 {
		t.Fatalf("tags after the TTL: hit %v, age %d", res.CacheHit, res.AgeSeconds)
	}
	// Repositories keep their hour.
	if res = result(t, e.discover(it, repositories)); !res.CacheHit || res.AgeSeconds != 301 {
		t.Fatalf("repositories after 5 minutes: hit %v, age %d", res.CacheHit, res.AgeSeconds)
	}

	// refresh=true calls the registry again and refills the cache.
	reg.Push(t, "team/svc-200", "v1")
	if res = result(t, e.discover(it, repositories)); len(res.Items) != 200 {
		t.Fatalf("cached repositories: %d", len(res.Items))
	}
	refresh := repositories
	refresh.Refresh = true
	if res = result(t, e.discover(it, refresh)); res.CacheHit || len(res.Items) != 201 || proxy.count(catalogPath) != 3 {
		t.Fatalf("refresh: hit %v, %d items, %d catalog requests", res.CacheHit, len(res.Items), proxy.count(catalogPath))
	}
	if res = result(t, e.discover(it, repositories)); !res.CacheHit || len(res.Items) != 201 {
		t.Fatalf("after refresh: hit %v, %d items", res.CacheHit, len(res.Items))
	}

	// An update of the integration empties its cache.
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	keysOf := func(id string) []string {
		keys, err := rdb.Keys(context.Background(), "inthub:discovery:{"+tenant+":"+id+"}:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if n := len(keysOf(it.ID)); n != 3 {
		t.Fatalf("%d cache keys before the update, want 3 (repositories, pattern, tags): %v", n, keysOf(it.ID))
	}
	it.Config["timeout"] = float64(20)
	it = e.update(it)
	waitFor(t, "the update to empty the cache", func() bool { return len(keysOf(it.ID)) == 0 })
	if res = result(t, e.discover(it, repositories)); res.CacheHit {
		t.Fatal("hit after the update")
	}

	// 50 concurrent identical calls on a cold key reach the registry once.
	cold := e.put(contracts.Integration{TypeID: dockerregistry.ProviderID, Config: map[string]any{"url": proxy.URL}})
	before := proxy.count(catalogPath)
	var wg sync.WaitGroup
	var hits atomic.Int64
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done, err := e.tryDiscover(cold, repositories)
			switch {
			case err != nil:
				t.Error(err)
			case done.Error != nil || done.Result == nil || len(done.Result.Items) != 201:
				t.Errorf("concurrent call: %+v", done.Error)
			case done.Result.CacheHit:
				hits.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := proxy.count(catalogPath) - before; n != 1 {
		t.Fatalf("50 concurrent cold calls made %d catalog requests, want 1", n)
	}
	t.Logf("50 concurrent cold calls: 1 registry request, %d answered as hits (arrived after the fill)", hits.Load())

	// Redis stopped: discovery keeps answering, uncached, and says so.
	unavailable := func() float64 {
		return metrictest.Value(t, m1, "inthub_discovery_cache_unavailable") + metrictest.Value(t, m2, "inthub_discovery_cache_unavailable")
	}
	redisSrv.Stop(t)
	for i := range 3 {
		res = result(t, e.discover(cold, repositories))
		if res.CacheHit || len(res.Items) != 201 {
			t.Fatalf("call %d with Redis down: hit %v, %d items", i, res.CacheHit, len(res.Items))
		}
	}
	if unavailable() < 1 || metrictest.Value(t, m1, "inthub_discovery_cache_requests_total", "result", "error")+
		metrictest.Value(t, m2, "inthub_discovery_cache_requests_total", "result", "error") != 3 {
		t.Fatalf("unavailable gauge %v after Redis stopped", unavailable())
	}
	// ... and caches again once it is back.
	redisSrv.Start(t)
	hit := false
	for i := 0; i < 20 && (!hit || unavailable() != 0); i++ {
		clock.Advance(2 * time.Second) // past RetryAfter: each replica tries Redis again
		res = result(t, e.discover(cold, repositories))
		hit = res.CacheHit
	}
	if !hit || unavailable() != 0 {
		t.Fatalf("after Redis came back: hit %v, unavailable %v", hit, unavailable())
	}
	if n := len(keysOf(cold.ID)); n != 1 {
		t.Fatalf("%d cache keys after recovery, want 1", n)
	}
}

// TestRateLimitIsHonoured: a 429 with Retry-After is waited out and the
// discovery then succeeds.
func TestRateLimitIsHonoured(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	var first time.Time
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" { // the registry API answers its base: no auth here
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.URL.Path != "/v2/_catalog" {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) == 1 {
			mu.Lock()
			first = time.Now()
			mu.Unlock()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		mu.Lock()
		waited := time.Since(first)
		mu.Unlock()
		if waited < 900*time.Millisecond {
			t.Errorf("retried after %s, before Retry-After", waited)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"repositories":["a","b"]}`))
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t)
	e.start(discoveryworker.Config{Registry: connectors.NewRegistry(dockerregistry.Spec), Policy: httpx.GuardPolicy{AllowPrivate: true}})
	it := e.put(contracts.Integration{TypeID: dockerregistry.ProviderID, Config: map[string]any{"url": srv.URL}})
	res := result(t, e.discover(it, contracts.DiscoveryRequest{ResourceType: "repositories"}))
	if strings.Join(names(res.Items), ",") != "a,b" || calls.Load() != 2 {
		t.Fatalf("%v after %d calls", names(res.Items), calls.Load())
	}
}
