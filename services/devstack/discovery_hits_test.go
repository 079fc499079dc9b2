package devstack_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/httpx"
)

// switchable is the ingress's view of the shared cache, which the test
// turns off to have the discovery-worker answer the same hit over the bus.
type switchable struct {
	cache.Reader
	off     atomic.Bool
	lookups atomic.Int64
}

func (s *switchable) Lookup(ctx context.Context, key cache.Key) (cache.Entry, bool, error) {
	if s.off.Load() {
		return cache.Entry{}, false, nil
	}
	s.lookups.Add(1)
	return s.Reader.Lookup(ctx, key)
}

// TestDiscoverHitsFromTheIngressAreTheWorkersAnswers: a cache hit the
// ingress answers from the cache it shares with the discovery-worker is
// the answer the worker gives for the same entry over the bus, byte for
// byte (ageSeconds aside, which is the clock's): first pages, pages by
// cursor, filtered and ordered pages; the worker does not see those
// requests; a miss, a refresh, a cursor of another query and another
// tenant's integration still go where they went.
func TestDiscoverHitsFromTheIngressAreTheWorkersAnswers(t *testing.T) {
	t.Parallel()
	mem := cache.NewMemory(cache.MemoryOptions{})
	view := &switchable{Reader: mem}
	cfg := devstack.Config{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
		Policy:      httpx.GuardPolicy{AllowPrivate: true},
		ExtraTokens: []ingress.TokenEntry{{Principal: ingress.Principal{Name: "b", TenantID: tenantB}, SHA256: ingress.HashToken(tokenB)}},
	}
	cfg.Services.DiscoveryWorker.Cache = mem
	cfg.Services.Ingress.DiscoveryCache = view
	info := runStack(t, cfg)
	js, _ := jetstream.New(natsConn(t, info))
	s := &stack{t: t, base: "http://" + info.HTTPAddr, info: info, js: js}

	repos := make([]any, 250)
	for i := range repos {
		repos[i] = fmt.Sprintf("team/svc-%03d", (i*37)%250)
	}
	it := s.createIntegration("inmemory", map[string]any{"repositories": repos})
	age := regexp.MustCompile(`"ageSeconds":\d+`)
	// answer returns the body of a hit, from the ingress or the worker.
	answer := func(req map[string]any, fromIngress bool) string {
		t.Helper()
		view.off.Store(!fromIngress)
		before := view.lookups.Load()
		r := s.discoverRaw(it.ID, info.Token, req)
		if r.status != http.StatusOK {
			t.Fatalf("discover %v: %d %s", req, r.status, r.body)
		}
		if fromIngress && view.lookups.Load() == before {
			t.Fatalf("discover %v: the ingress did not look at the cache", req)
		}
		return age.ReplaceAllString(string(r.body), `"ageSeconds":0`)
	}
	requests := []map[string]any{
		{"resourceType": "repositories"},
		{"resourceType": "repositories", "limit": 1000},
		{"resourceType": "repositories", "limit": 7, "filter": map[string]any{"namePattern": "team/svc-1*"}},
		{"resourceType": "repositories", "limit": 40, "filter": map[string]any{"orderBy": "name", "order": "desc"}},
	}
	for _, req := range requests {
		// The fill, by the worker (the first two requests share a key:
		// the limit is not part of it).
		view.off.Store(true)
		s.discover(it.ID, req)
		okBefore := s.metric(`inthub_discovery_requests_total{code="ok",service="discovery-worker"}`)
		for page := 0; ; page++ {
			// The ingress twice: encoded, then from its memo of pages.
			ingressBody, again, workerBody := answer(req, true), answer(req, true), answer(req, false)
			if ingressBody != workerBody || again != workerBody {
				t.Fatalf("%v page %d:\ningress %s\nagain   %s\nworker  %s", req, page, ingressBody, again, workerBody)
			}
			var res struct {
				CacheHit   bool   `json:"cacheHit"`
				NextCursor string `json:"nextCursor"`
			}
			(response{body: []byte(ingressBody)}).decode(&res)
			if !res.CacheHit {
				t.Fatalf("%v page %d: not a hit: %s", req, page, ingressBody)
			}
			if res.NextCursor == "" || page == 3 {
				// The worker answered only its own half.
				if got := s.metric(`inthub_discovery_requests_total{code="ok",service="discovery-worker"}`) - okBefore; got != float64(page+1) {
					t.Fatalf("%v: the worker answered %v requests of %d pages asked of each", req, got, page+1)
				}
				break
			}
			req = clone(req)
			req["cursor"] = res.NextCursor
		}
	}

	view.off.Store(false)
	first := map[string]any{"resourceType": "repositories"}
	if res := s.discover(it.ID, first, "refresh=true"); res.CacheHit {
		t.Fatal("a refresh was answered from the cache")
	}
	other := map[string]any{"resourceType": "repositories", "filter": map[string]any{"namePattern": "team/*"}}
	page := s.discover(it.ID, first)
	other["cursor"] = page.NextCursor
	if r := s.discoverRaw(it.ID, info.Token, other); r.status != http.StatusBadRequest {
		t.Fatalf("a cursor of another query: %d %s", r.status, r.body)
	}
	if r := s.discoverRaw(it.ID, tokenB, first); r.status != http.StatusNotFound {
		t.Fatalf("another tenant's integration: %d %s", r.status, r.body)
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
