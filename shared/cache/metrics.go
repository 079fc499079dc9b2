package cache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the cache's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	requests    *prometheus.CounterVec
	unavailable prometheus.Gauge
}

// NewMetrics returns the series registered with reg (none if reg is nil).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inthub_discovery_cache_requests_total",
			Help: "Discovery cache lookups by result: hit, miss, bypass (refresh or caching off), error (cache unavailable, answered uncached).",
		}, []string{"result"}),
		unavailable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "inthub_discovery_cache_unavailable",
			Help: "1 while the discovery cache (Redis) cannot be reached and discovery answers uncached, else 0.",
		}),
	}
	for _, o := range Outcomes {
		m.requests.WithLabelValues(string(o))
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.unavailable} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register discovery cache metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *Metrics) observe(o Outcome) {
	if m != nil && o != "" {
		m.requests.WithLabelValues(string(o)).Inc()
	}
}

func (m *Metrics) setUnavailable(down bool) {
	if m == nil {
		return
	}
	if down {
		m.unavailable.Set(1)
	} else {
		m.unavailable.Set(0)
	}
}
