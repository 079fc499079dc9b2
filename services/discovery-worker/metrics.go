package discoveryworker

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/resilience"
)

// metrics are the worker's own series; the cache's (requests by result,
// unavailable) come from shared/cache.
type metrics struct {
	requests      *prometheus.CounterVec
	providerCalls *prometheus.HistogramVec
	retries       *prometheus.CounterVec
	invalidations *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inthub_discovery_requests_total", Help: "Discovery requests answered, by code (ok or the error code).",
		}, []string{"code"}),
		providerCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "inthub_discovery_provider_call_duration_seconds", Help: "Duration of one provider discovery call (one page), by provider, resource type and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"provider", "resource_type", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inthub_discovery_provider_retries_total", Help: "Provider discovery calls retried, by error code.",
		}, []string{"code"}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inthub_discovery_cache_invalidations_total", Help: "Discovery cache invalidations by lifecycle event (updated, deleted).",
		}, []string{"event"}),
	}
	// Exported from the start (every retried code, every invalidating
	// event), so the dashboard's rates have series before the first one.
	m.requests.WithLabelValues("ok")
	for _, code := range resilience.Codes {
		if resilience.StrategyFor(code) != resilience.NoRetry {
			m.retries.WithLabelValues(string(code))
		}
	}
	for _, event := range []string{"updated", "deleted"} {
		m.invalidations.WithLabelValues(event)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.providerCalls, m.retries, m.invalidations)
	}
	return m
}

func (m *metrics) providerCall(provider, resourceType, outcome string, d time.Duration) {
	m.providerCalls.WithLabelValues(provider, resourceType, outcome).Observe(d.Seconds())
}
