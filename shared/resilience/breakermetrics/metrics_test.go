package breakermetrics

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stella-ops/inthub/shared/resilience"
)

// fakeClock is a controllable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const header = `
# HELP inthub_circuit_breaker_state Circuit breaker state per integration: 0 closed, 1 half-open, 2 open.
# TYPE inthub_circuit_breaker_state gauge
`

const transitionsHeader = `
# HELP inthub_circuit_breaker_transitions_total Circuit breaker state transitions, by the state entered.
# TYPE inthub_circuit_breaker_transitions_total counter
`

func TestCollectorReportsStates(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	breakers := resilience.NewBreakers(resilience.DefaultBreakerConfig(), clock.Now)
	reg := prometheus.NewPedanticRegistry()
	c, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	c.Attach(breakers)

	refused := resilience.New(resilience.ConnectionRefused, "dial")
	breakers.Get("healthy")
	for range 5 {
		breakers.Get("failing").Record(refused)
	}
	breakers.Get("recovering").Record(nil)
	for range 5 {
		breakers.Get("recovering").Record(refused)
	}

	tests := []struct {
		name        string
		act         func()
		state       string
		transitions string
	}{
		{
			name: "open and closed",
			act:  func() {},
			state: header + `
inthub_circuit_breaker_state{integration_id="failing"} 2
inthub_circuit_breaker_state{integration_id="healthy"} 0
inthub_circuit_breaker_state{integration_id="recovering"} 2
`,
			transitions: transitionsHeader + `
inthub_circuit_breaker_transitions_total{to="closed"} 0
inthub_circuit_breaker_transitions_total{to="half-open"} 0
inthub_circuit_breaker_transitions_total{to="open"} 2
`,
		},
		{
			name: "half-open after the timeout, seen at scrape time",
			act:  func() { clock.Advance(time.Minute) },
			state: header + `
inthub_circuit_breaker_state{integration_id="failing"} 1
inthub_circuit_breaker_state{integration_id="healthy"} 0
inthub_circuit_breaker_state{integration_id="recovering"} 1
`,
			transitions: transitionsHeader + `
inthub_circuit_breaker_transitions_total{to="closed"} 0
inthub_circuit_breaker_transitions_total{to="half-open"} 2
inthub_circuit_breaker_transitions_total{to="open"} 2
`,
		},
		{
			name: "closed again, and a removed integration disappears",
			act: func() {
				for range 3 {
					breakers.Get("recovering").Record(nil)
				}
				breakers.Remove("failing")
			},
			state: header + `
inthub_circuit_breaker_state{integration_id="healthy"} 0
inthub_circuit_breaker_state{integration_id="recovering"} 0
`,
			transitions: transitionsHeader + `
inthub_circuit_breaker_transitions_total{to="closed"} 1
inthub_circuit_breaker_transitions_total{to="half-open"} 2
inthub_circuit_breaker_transitions_total{to="open"} 2
`,
		},
	}
	// Steps build on each other, so they run in order.
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.act()
			if err := testutil.GatherAndCompare(reg, strings.NewReader(tc.state), "inthub_circuit_breaker_state"); err != nil {
				t.Error(err)
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(tc.transitions), "inthub_circuit_breaker_transitions_total"); err != nil {
				t.Error(err)
			}
		})
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestNewRejectsDoubleRegistration(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg); err == nil {
		t.Error("second New on the same registry: want an error, got nil")
	}
}
