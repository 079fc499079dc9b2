package devstack_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// startDiscoveryStack is startStack with the guard opened for the test's
// loopback registry, and Redis behind the discovery cache when redisURL is
// set (the in-process cache otherwise).
func startDiscoveryStack(t *testing.T, redisURL string) *stack {
	t.Helper()
	local, secrets := localSecrets(t, nil)
	info := runStack(t, devstack.Config{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
		Policy: httpx.GuardPolicy{AllowPrivate: true}, RedisURL: redisURL, Local: &local,
		ExtraTokens: []ingress.TokenEntry{{Principal: ingress.Principal{Name: "b", TenantID: tenantB}, SHA256: ingress.HashToken(tokenB)}},
	})
	nc := natsConn(t, info)
	js, _ := jetstream.New(nc)
	return &stack{t: t, base: "http://" + info.HTTPAddr, info: info, js: js, secrets: secrets}
}

// createIntegration creates one and returns it.
func (s *stack) createIntegration(typeID string, config map[string]any) contracts.Integration {
	s.t.Helper()
	r := s.call("POST", "/api/v1/integrations", s.info.Token, map[string]any{"typeId": typeID, "name": typeID, "config": config})
	if r.status != http.StatusCreated {
		s.t.Fatalf("create %s: %d %s", typeID, r.status, r.body)
	}
	var it contracts.Integration
	r.decode(&it)
	return it
}

// discover posts a discovery and decodes a 200.
func (s *stack) discover(id string, req map[string]any, query ...string) contracts.DiscoveryResult {
	s.t.Helper()
	r := s.discoverRaw(id, s.info.Token, req, query...)
	if r.status != http.StatusOK {
		s.t.Fatalf("discover %v: %d %s", req, r.status, r.body)
	}
	var res contracts.DiscoveryResult
	r.decode(&res)
	return res
}

func (s *stack) discoverRaw(id, token string, req any, query ...string) response {
	s.t.Helper()
	path := "/api/v1/integrations/" + id + "/discover"
	if len(query) > 0 {
		path += "?" + strings.Join(query, "&")
	}
	return s.call("POST", path, token, req)
}

func resourceNames(items []contracts.Resource) []string {
	out := make([]string, len(items))
	for i, r := range items {
		out[i] = r.Name
	}
	return out
}

// metric reads one sample of /metrics by its series text, e.g.
// `inthub_discovery_cache_unavailable{service="discovery-worker"}`.
func (s *stack) metric(series string) float64 {
	s.t.Helper()
	body := s.scrape()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		s.t.Fatalf("no series %s in /metrics", series)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// countingProxy forwards to a registry and counts catalog listings of
// discovery (n=1000), not the health checks' probes (n=1).
type countingProxy struct {
	*httptest.Server
	mu       sync.Mutex
	listings int
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, _ := url.Parse(target)
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/_catalog" && r.URL.Query().Get("n") != "1" {
			p.mu.Lock()
			p.listings++
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *countingProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listings
}

// TestDiscoveryOfARealRegistryOverHTTP: POST /integrations/{id}/discover
// through the whole hub (ingress, manager, discovery-worker with the
// in-process cache of `make run`) against a real Docker Registry.
func TestDiscoveryOfARealRegistryOverHTTP(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{})
	repos := make([]string, 30)
	for i := range repos {
		repos[i] = fmt.Sprintf("team/app-%02d", i)
	}
	digests := reg.PushAll(t, repos, "v1", "v2")
	s := startDiscoveryStack(t, "")
	it := s.createIntegration("docker-registry", map[string]any{"url": reg.URL, "resolveDigests": true})
	repositories := map[string]any{"resourceType": "repositories", "filter": map[string]any{}, "limit": 1000}

	res := s.discover(it.ID, repositories)
	if !slices.Equal(resourceNames(res.Items), repos) || res.CacheHit || res.AgeSeconds != 0 || res.ResourceType != "repositories" {
		t.Fatalf("repositories: %+v", res)
	}
	if res = s.discover(it.ID, repositories); !res.CacheHit || len(res.Items) != 30 {
		t.Fatalf("second call: hit %v, %d items", res.CacheHit, len(res.Items))
	}
	if res = s.discover(it.ID, repositories, "refresh=true"); res.CacheHit {
		t.Fatal("?refresh=true was a hit")
	}
	// Pages by cursor (limit 20), the documented filter shape.
	page := s.discover(it.ID, map[string]any{"resourceType": "repositories", "filter": map[string]any{"namePattern": "team/app-*"}, "limit": 20})
	next := s.discover(it.ID, map[string]any{"resourceType": "repositories", "filter": map[string]any{"namePattern": "team/app-*"}, "limit": 20, "cursor": page.NextCursor})
	if got := append(resourceNames(page.Items), resourceNames(next.Items)...); !slices.Equal(got, repos) || next.NextCursor != "" || !next.CacheHit {
		t.Fatalf("pages: %v then %v", resourceNames(page.Items), resourceNames(next.Items))
	}

	tags := map[string]any{"resourceType": "tags", "filter": map[string]any{"repository": "team/app-03"}}
	res = s.discover(it.ID, tags)
	if got := resourceNames(res.Items); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Fatalf("tags %v", got)
	}
	for _, tag := range res.Items {
		if tag.Attributes["digest"] != digests["team/app-03"][tag.Name] {
			t.Fatalf("tag %+v, pushed digest %s", tag, digests["team/app-03"][tag.Name])
		}
	}

	// An update of the integration empties its cache; with a TTL of two
	// seconds (discoveryCacheTTLSeconds), a tag pushed after it is seen.
	r := s.call("PATCH", "/api/v1/integrations/"+it.ID, s.info.Token, `{"config":{"discoveryCacheTTLSeconds":2}}`,
		"Content-Type", "application/merge-patch+json")
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if res = s.discover(it.ID, repositories); res.CacheHit {
		t.Fatal("repositories hit after the update")
	}
	if res = s.discover(it.ID, tags); res.CacheHit {
		t.Fatal("tags hit after the update")
	}
	filled := res.DiscoveredAt
	if res = s.discover(it.ID, tags); !res.CacheHit {
		t.Fatal("tags missed right after a fill")
	}
	reg.Push(t, "team/app-03", "v3")
	if res = s.discover(it.ID, tags); !res.CacheHit || len(res.Items) != 2 {
		t.Fatalf("within the TTL: hit %v, %v", res.CacheHit, resourceNames(res.Items))
	}
	time.Sleep(time.Until(filled.Add(2100 * time.Millisecond)))
	if res = s.discover(it.ID, tags); res.CacheHit || !slices.Equal(resourceNames(res.Items), []string{"v1", "v2", "v3"}) {
		t.Fatalf("after the TTL: hit %v, %v", res.CacheHit, resourceNames(res.Items))
	}
}

func TestDiscoveryRefusalsAndErrorsOverHTTP(t *testing.T) {
	t.Parallel()
	s := startDiscoveryStack(t, "")
	tok := s.info.Token
	mem := s.createIntegration("inmemory", map[string]any{"repositories": []any{"a", "b"}, "tags": []any{"v1"}})
	hook := s.createIntegration("webhook", map[string]any{"url": "https://hooks.example.com/x", "signingSecretRef": "env://INTHUB_SECRET_DEV_HOOK"})
	limited := s.createIntegration("inmemory", map[string]any{"failureMode": "rate-limited", "retryAfterSeconds": 120})
	denied := s.createIntegration("inmemory", map[string]any{"failureMode": "auth-failed"})
	repositories := map[string]any{"resourceType": "repositories"}
	tests := []struct {
		name   string
		id     string
		token  string
		body   any
		query  string
		status int
		code   string
		check  func(t *testing.T, r response)
	}{
		{"ok", mem.ID, tok, repositories, "", 200, "", nil},
		{"unsupported resource type", mem.ID, tok, map[string]any{"resourceType": "pipelines"}, "", 400, "UNSUPPORTED_RESOURCE_TYPE",
			func(t *testing.T, r response) {
				if !strings.Contains(string(r.body), `"supportedResourceTypes":["repositories","tags"]`) {
					t.Fatalf("%s", r.body)
				}
			}},
		{"provider without discovery", hook.ID, tok, repositories, "", 400, "UNSUPPORTED_RESOURCE_TYPE",
			func(t *testing.T, r response) {
				if !strings.Contains(string(r.body), "does not support discovery") || !strings.Contains(string(r.body), `"supportedResourceTypes":[]`) {
					t.Fatalf("%s", r.body)
				}
			}},
		{"missing resourceType", mem.ID, tok, map[string]any{}, "", 400, "MISSING_REQUIRED_FIELD", nil},
		{"limit over 1000", mem.ID, tok, map[string]any{"resourceType": "repositories", "limit": 5000}, "", 400, "VALIDATION_FAILED", nil},
		{"bad glob", mem.ID, tok, map[string]any{"resourceType": "repositories", "filter": map[string]any{"namePattern": "app-["}}, "", 400, "VALIDATION_FAILED", nil},
		{"unknown filter field", mem.ID, tok, map[string]any{"resourceType": "repositories", "filter": map[string]any{"owner": "x"}}, "", 400, "UNKNOWN_FIELD", nil},
		{"bad refresh", mem.ID, tok, repositories, "refresh=maybe", 400, "INVALID_QUERY", nil},
		{"cursor it did not issue", mem.ID, tok, map[string]any{"resourceType": "repositories", "cursor": "bm9wZQ"}, "", 400, "INVALID_CURSOR", nil},
		{"tags of an unknown repository", mem.ID, tok, map[string]any{"resourceType": "tags", "filter": map[string]any{"repository": "zzz"}}, "", 404, "RESOURCE_NOT_FOUND", nil},
		{"another tenant's integration", mem.ID, tokenB, repositories, "", 404, "INTEGRATION_NOT_FOUND", nil},
		{"no such integration", "0193a0b4-0000-7000-8000-0000000000ff", tok, repositories, "", 404, "INTEGRATION_NOT_FOUND", nil},
		{"no token", mem.ID, "", repositories, "", 401, "UNAUTHORIZED", nil},
		{"rate limited", limited.ID, tok, repositories, "", 429, "RATE_LIMITED", func(t *testing.T, r response) {
			if r.header.Get("Retry-After") != "120" {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
		}},
		{"upstream refuses the credentials", denied.ID, tok, repositories, "", 502, "AUTHENTICATION_FAILED", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var q []string
			if tc.query != "" {
				q = append(q, tc.query)
			}
			r := s.discoverRaw(tc.id, tc.token, tc.body, q...)
			if r.status != tc.status || (tc.code != "" && r.code() != tc.code) {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	if r := s.call("GET", "/api/v1/integrations/"+mem.ID+"/discover", tok, nil); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET discover: %d", r.status)
	}
}

// TestFiftyConcurrentColdDiscoveriesReachTheRegistryOnce: 50 identical
// HTTP calls on a cold key, one listing of the registry.
func TestFiftyConcurrentColdDiscoveriesReachTheRegistryOnce(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{})
	reg.PushAll(t, []string{"a/one", "a/two", "b/three"}, "v1")
	proxy := newCountingProxy(t, reg.URL)
	s := startDiscoveryStack(t, "")
	it := s.createIntegration("docker-registry", map[string]any{"url": proxy.URL})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.discoverRaw(it.ID, s.info.Token, map[string]any{"resourceType": "repositories"})
			var res contracts.DiscoveryResult
			if r.status != 200 {
				t.Errorf("%d %s", r.status, r.body)
				return
			}
			r.decode(&res)
			if !slices.Equal(resourceNames(res.Items), []string{"a/one", "a/two", "b/three"}) {
				t.Errorf("items %v", resourceNames(res.Items))
			}
		}()
	}
	wg.Wait()
	if n := proxy.count(); n != 1 {
		t.Fatalf("50 concurrent cold discoveries listed the registry %d times, want 1", n)
	}
}

// TestDiscoveryWithRedisSurvivesItsOutage: with REDIS_URL the cache lives
// in Redis under inthub:discovery:{<tenant>:<id>}:<type>:<filterHash>; an
// update empties it; with Redis stopped discovery keeps answering, uncached,
// and the metric says so; restarted, it caches again.
func TestDiscoveryWithRedisSurvivesItsOutage(t *testing.T) {
	t.Parallel()
	redisSrv := testsvc.StartRedis(t)
	s := startDiscoveryStack(t, redisSrv.URL)
	it := s.createIntegration("inmemory", map[string]any{"repositories": []any{"a", "b", "c"}})
	req := map[string]any{"resourceType": "repositories"}
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	keys := func() []string {
		k, err := rdb.Keys(context.Background(), "inthub:discovery:{"+devstack.DevTenantID+":"+it.ID+"}:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}

	if res := s.discover(it.ID, req); res.CacheHit {
		t.Fatal("first call hit")
	}
	if res := s.discover(it.ID, req); !res.CacheHit {
		t.Fatal("second call missed")
	}
	if k := keys(); len(k) != 1 || !regexp.MustCompile(`^inthub:discovery:\{[0-9a-f-]{36}:[0-9a-f-]{36}\}:repositories:[0-9a-f]{16}$`).MatchString(k[0]) {
		t.Fatalf("redis keys %v", k)
	}
	r := s.call("PATCH", "/api/v1/integrations/"+it.ID, s.info.Token, `{"labels":{"team":"release"}}`, "Content-Type", "application/merge-patch+json")
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(keys()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("keys left after the update: %v", keys())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res := s.discover(it.ID, req); res.CacheHit {
		t.Fatal("hit after the update")
	}

	const unavailable = `inthub_discovery_cache_unavailable{service="discovery-worker"}`
	redisSrv.Stop(t)
	for i := range 3 {
		if res := s.discover(it.ID, req); res.CacheHit || len(res.Items) != 3 {
			t.Fatalf("call %d with Redis down: hit %v, %d items", i, res.CacheHit, len(res.Items))
		}
	}
	if v := s.metric(unavailable); v != 1 {
		t.Fatalf("%s = %v with Redis down", unavailable, v)
	}
	if v := s.metric(`inthub_discovery_cache_requests_total{result="error",service="discovery-worker"}`); v < 1 {
		t.Fatalf("no error outcome counted: %v", v)
	}

	redisSrv.Start(t)
	deadline = time.Now().Add(15 * time.Second)
	for !s.discover(it.ID, req).CacheHit {
		if time.Now().After(deadline) {
			t.Fatal("no hit after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := s.metric(unavailable); v != 0 {
		t.Fatalf("%s = %v after Redis came back", unavailable, v)
	}
}

// TestDiscoveryAnswersCarryTheirLength: a page, answered by the worker over
// the bus or by the ingress from the cache, is sent with its
// Content-Length, not chunked, so a caller has it as soon as its last byte
// arrives rather than when the handler has finished.
func TestDiscoveryAnswersCarryTheirLength(t *testing.T) {
	t.Parallel()
	s := startDiscoveryStack(t, "")
	repos := make([]any, 300)
	for i := range repos {
		repos[i] = fmt.Sprintf("team/svc-%03d", i)
	}
	it := s.createIntegration("inmemory", map[string]any{"repositories": repos})
	req := map[string]any{"resourceType": "repositories", "limit": 1000}
	for _, query := range [][]string{{"refresh=true"}, nil} {
		r := s.discoverRaw(it.ID, s.info.Token, req, query...)
		var res contracts.DiscoveryResult
		r.decode(&res)
		if r.status != http.StatusOK || len(res.Items) != 300 || res.CacheHit != (query == nil) {
			t.Fatalf("%v: %d, %d items, hit %v", query, r.status, len(res.Items), res.CacheHit)
		}
		if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(r.body)) {
			t.Errorf("%v: Content-Length %q for %d bytes", query, got, len(r.body))
		}
	}
}
