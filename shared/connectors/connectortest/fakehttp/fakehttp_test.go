package fakehttp

import "testing"

// TestRoutes scripts throttles and follows calls through them: a route's
// queued throttles come first, one a call, then ThrottleAll's; every call
// is counted, throttled or not.
func TestRoutes(t *testing.T) {
	t.Parallel()
	type call struct {
		route      string
		retryAfter int
		throttled  bool
	}
	tests := []struct {
		name   string
		script func(r *Routes)
		calls  []call
		counts map[string]int
	}{
		{name: "nothing scripted", script: func(*Routes) {},
			calls: []call{{"GET /a", 0, false}, {"GET /a", 0, false}}, counts: map[string]int{"GET /a": 2, "GET /b": 0}},
		{name: "a route's throttles queue up", script: func(r *Routes) { r.Throttle("GET /a", 7); r.Throttle("GET /a", 3) },
			calls:  []call{{"GET /b", 0, false}, {"GET /a", 7, true}, {"GET /a", 3, true}, {"GET /a", 0, false}},
			counts: map[string]int{"GET /a": 3, "GET /b": 1}},
		{name: "every call after ThrottleAll, a route's own first", script: func(r *Routes) { r.ThrottleAll(12); r.Throttle("GET /a", 5) },
			calls:  []call{{"GET /a", 5, true}, {"GET /a", 12, true}, {"GET /b", 12, true}},
			counts: map[string]int{"GET /a": 2, "GET /b": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Routes
			tc.script(&r)
			for i, c := range tc.calls {
				if d, ok := r.Call(c.route); d != c.retryAfter || ok != c.throttled {
					t.Fatalf("call %d of %s: %d, %v; want %d, %v", i, c.route, d, ok, c.retryAfter, c.throttled)
				}
			}
			for route, n := range tc.counts {
				if got := r.Count(route); got != n {
					t.Fatalf("Count(%s) = %d, want %d", route, got, n)
				}
			}
		})
	}
}
