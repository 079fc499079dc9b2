package httpx

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PrometheusMetrics is the Metrics of a service that exposes Prometheus: one
// instance per registry, shared by all the service's Clients.
type PrometheusMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewPrometheusMetrics registers the client's collectors on reg (never the
// global registry); calling it twice with one registry reuses them.
func NewPrometheusMetrics(reg prometheus.Registerer) (*PrometheusMetrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inthub_http_client_requests_total",
		Help: "Outbound HTTP requests by status code (or error code when there was no response).",
	}, []string{"code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "inthub_http_client_request_duration_seconds",
		Help:    "Time to the response headers of outbound HTTP requests.",
		Buckets: prometheus.DefBuckets,
	}, []string{})
	var err error
	if requests, err = register(reg, requests); err != nil {
		return nil, err
	}
	if duration, err = register(reg, duration); err != nil {
		return nil, err
	}
	return &PrometheusMetrics{requests: requests, duration: duration}, nil
}

// register registers c, or returns the collector already registered under
// its name, so every integration's Client can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var exists prometheus.AlreadyRegisteredError
	if errors.As(err, &exists) {
		if prev, ok := exists.ExistingCollector.(C); ok {
			return prev, nil
		}
	}
	return c, err
}

// ObserveRequest implements Metrics. The host is not a label: hosts are
// the tenants' (unbounded, and they say who integrates with what), so the
// series are labelled by code only.
func (m *PrometheusMetrics) ObserveRequest(_, code string, d time.Duration) {
	m.requests.WithLabelValues(code).Inc()
	m.duration.WithLabelValues().Observe(d.Seconds())
}
