// Package fakehttp holds the plumbing the connectors' fake provider
// servers share: how many calls each route had, and the rate limits a test
// scripts on a route or on every call. What a throttled call is answered
// with (the provider's 429 headers and body) stays each fake's own.
package fakehttp

import "sync"

// Routes counts the calls of each route and hands out the throttles
// scripted on them; the zero value is ready. A fake embeds it, so a test
// calls Throttle, ThrottleAll and Count on the fake, and the fake's
// handler calls Call once a request.
type Routes struct {
	mu        sync.Mutex
	calls     map[string]int
	throttles map[string][]int // route -> Retry-After seconds of its next answers
	all       int              // > 0: every call is throttled with this Retry-After
}

// Throttle makes the next call of route answer 429 with Retry-After
// seconds; throttles of one route queue up, one a call.
func (r *Routes) Throttle(route string, retryAfter int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.throttles == nil {
		r.throttles = map[string][]int{}
	}
	r.throttles[route] = append(r.throttles[route], retryAfter)
}

// ThrottleAll makes every following call answer 429 with Retry-After
// seconds (a route's own queued throttles first).
func (r *Routes) ThrottleAll(retryAfter int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = retryAfter
}

// Count is how many calls route had, throttled ones included.
func (r *Routes) Count(route string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[route]
}

// Call counts a call of route and says whether it is throttled, and with
// which Retry-After: the route's next queued throttle, else ThrottleAll's.
func (r *Routes) Call(route string) (retryAfter int, throttled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[route]++
	if q := r.throttles[route]; len(q) > 0 {
		r.throttles[route] = q[1:]
		return q[0], true
	}
	return r.all, r.all > 0
}
