// Package breakermetrics exports the hub's circuit breakers to Prometheus.
//
// It is a package of its own so that connectors, which import resilience
// for its error codes, do not pull in the Prometheus client.
package breakermetrics

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/resilience"
)

// Collector is a prometheus.Collector of breaker state and transitions. The
// state is read from the attached registries at scrape time, so a removed
// integration's series disappear with its breaker.
type Collector struct {
	state       *prometheus.Desc
	transitions *prometheus.CounterVec

	mu      sync.Mutex
	sources []*resilience.Breakers
}

// New returns a Collector registered with reg (none if reg is nil); it
// takes a Registerer rather than using the global one so tests and
// services own their registries.
func New(reg prometheus.Registerer) (*Collector, error) {
	c := &Collector{
		state: prometheus.NewDesc(
			"inthub_circuit_breaker_state",
			"Circuit breaker state per integration: 0 closed, 1 half-open, 2 open.",
			[]string{"integration_id"}, nil,
		),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inthub_circuit_breaker_transitions_total",
			Help: "Circuit breaker state transitions, by the state entered.",
		}, []string{"to"}),
	}
	// Pre-create every series so rate() sees the first transition.
	for _, s := range []resilience.BreakerState{resilience.Closed, resilience.HalfOpen, resilience.Open} {
		c.transitions.WithLabelValues(s.String())
	}
	if reg != nil {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register circuit breaker metrics: %w", err)
		}
	}
	return c, nil
}

// Attach reports the breakers of r; attach each registry once, and only
// registries whose integration ids do not overlap.
func (c *Collector) Attach(r *resilience.Breakers) {
	r.OnStateChange(func(_ string, _, to resilience.BreakerState) {
		c.transitions.WithLabelValues(to.String()).Inc()
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources = append(c.sources, r)
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	c.transitions.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := append([]*resilience.Breakers(nil), c.sources...)
	c.mu.Unlock()

	// States first: reading a state may half-open a breaker and count that
	// transition, which the counters below then include.
	for _, r := range sources {
		for id, s := range r.States() {
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, stateValue(s), id)
		}
	}
	c.transitions.Collect(ch)
}

// stateValue orders states by how unhealthy they are, as dashboards expect.
func stateValue(s resilience.BreakerState) float64 {
	switch s {
	case resilience.HalfOpen:
		return 1
	case resilience.Open:
		return 2
	}
	return 0
}
