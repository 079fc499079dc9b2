package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

// TestRateLimit: a burst of n requests through a client limited to r per
// second (burst b) takes at least (n-b)/r.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t, "127.0.0.1:0")
	const n, r, b = 12, 20, 2
	c := newTestClient(t, Options{Policy: allow("127.0.0.0/8"), RateLimit: r, RateBurst: b})
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := do(t, c, srv.URL)
			if err != nil {
				t.Errorf("GET: %v", err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	took := time.Since(start)
	if want := time.Duration(n-b) * time.Second / r; took < want-10*time.Millisecond {
		t.Errorf("%d requests at %d/s (burst %d) took %s, want at least %s", n, r, b, took, want)
	}
	if hits.Load() != n {
		t.Errorf("server saw %d requests, want %d", hits.Load(), n)
	}
}

// TestMaxConcurrent: never more exchanges in flight than the limit, a slot
// being held until the body is closed.
func TestMaxConcurrent(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int64
	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		fmt.Fprint(w, "ok")
	}))
	const limit = 3
	c := newTestClient(t, Options{Policy: allow("127.0.0.0/8"), MaxConcurrent: limit})
	var wg sync.WaitGroup
	for range 15 {
		wg.Go(func() {
			resp, err := do(t, c, srv.URL)
			if err != nil {
				t.Errorf("GET: %v", err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if got := peak.Load(); got > limit || got < 2 {
		t.Errorf("peak in flight = %d, want 2..%d", got, limit)
	}
}

// TestLimitWaitEndsWithContext: a request waiting for its turn returns
// promptly, coded TIMEOUT, when its context ends.
func TestLimitWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block) })
	tests := []struct {
		name string
		opts Options
	}{
		{"waiting for a slot", Options{MaxConcurrent: 1}},
		{"waiting for a token", Options{RateLimit: 0.01, RateBurst: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Policy = allow("127.0.0.0/8")
			tc.opts.Timeout = time.Minute
			c := newTestClient(t, tc.opts)
			// The first request takes the slot (or the only token) and hangs.
			first, cancelFirst := context.WithCancel(context.Background())
			defer cancelFirst()
			go func() {
				req, _ := http.NewRequestWithContext(first, http.MethodGet, srv.URL, nil)
				if resp, err := c.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			time.Sleep(50 * time.Millisecond)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			start := time.Now()
			_, err := c.Do(req)
			if took := time.Since(start); took > time.Second {
				t.Errorf("canceled wait returned after %s", took)
			}
			if err == nil || codeOf(t, err) != resilience.Timeout {
				t.Errorf("err = %v, want TIMEOUT", err)
			}
		})
	}
}

// TestSpentQuotaFailsFast: once a successful response says the quota is
// spent with a named reset, the next request to that host is RATE_LIMITED with the time
// left, without reaching the server; other hosts are not held back.
func TestSpentQuotaFailsFast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		header    http.Header
		wantFast  bool
		wantAfter time.Duration
	}{
		{"github remaining 0 with reset", header("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "60"), true, time.Minute},
		{"ietf remaining 0 with reset", header("RateLimit-Remaining", "0", "RateLimit-Reset", "30"), true, 30 * time.Second},
		{"docker hub window only", header("Ratelimit-Remaining", "0;w=21600"), false, 0},
		{"quota left", header("X-RateLimit-Remaining", "5", "X-RateLimit-Reset", "60"), false, 0},
		{"a refusal is the retry strategy's", header("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "60", "X-Status", "429"), false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int64
			srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				for k, v := range tc.header {
					w.Header()[k] = v
				}
				if tc.header.Get("X-Status") == "429" && hits.Load() == 1 {
					w.WriteHeader(http.StatusTooManyRequests)
				}
				fmt.Fprint(w, "ok")
			}))
			other, otherHits := countingServer(t, "127.0.0.1:0")
			c := newTestClient(t, Options{Policy: allow("127.0.0.0/8")})
			get(t, c, srv.URL).Body.Close()
			_, err := do(t, c, srv.URL)
			if !tc.wantFast {
				if err != nil || hits.Load() != 2 {
					t.Fatalf("second request: err %v, server hits %d; want it sent", err, hits.Load())
				}
				return
			}
			var e *resilience.Error
			if !errors.As(err, &e) || e.Code != resilience.RateLimited {
				t.Fatalf("second request: err %v, want RATE_LIMITED", err)
			}
			if e.RetryAfter <= tc.wantAfter-5*time.Second || e.RetryAfter > tc.wantAfter {
				t.Errorf("RetryAfter = %s, want about %s", e.RetryAfter, tc.wantAfter)
			}
			if hits.Load() != 1 {
				t.Errorf("server hits = %d, want 1: a spent quota must not be spent again", hits.Load())
			}
			get(t, c, other.URL).Body.Close()
			if otherHits.Load() != 1 {
				t.Errorf("another host was held back")
			}
		})
	}
}

// TestNegativeLimitsRefused: limits are validated when the client is built.
func TestNegativeLimitsRefused(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{{RateLimit: -1}, {RateBurst: -1}, {MaxConcurrent: -1}} {
		if _, err := New(o); resilience.CodeOf(err) != resilience.InvalidConfig {
			t.Errorf("New(%+v) = %v, want INVALID_CONFIG", o, err)
		}
	}
}

// TestUnclosedBodyFreesItsSlot: a response body its caller never closes
// gives its slot back when the request's time is up, so a leak in one
// connector slows it down rather than hanging it.
func TestUnclosedBodyFreesItsSlot(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, "127.0.0.1:0")
	c := newTestClient(t, Options{Policy: allow("127.0.0.0/8"), MaxConcurrent: 1, Timeout: 300 * time.Millisecond})
	for i := range 3 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
		start := time.Now()
		if _, err := c.Do(req); err != nil { // the body is left open on purpose
			t.Fatalf("request %d: %v", i, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("request %d waited %s for a slot", i, took)
		}
		time.Sleep(400 * time.Millisecond) // past the abandoned request's timeout
	}
}
