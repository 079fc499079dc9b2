package ingress

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// series keeps the children of each method, route and status seen, so
	// a request finds its two series with one map read instead of hashing
	// its labels (and formatting its status) in both vectors. At most
	// maxSeriesKept: past it (methods a client made up) the vectors are
	// asked as before.
	mu     sync.RWMutex
	series map[seriesKey]routeSeries
}

type seriesKey struct {
	method, route string
	status        int
}

type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// maxSeriesKept bounds the children kept by series.
const maxSeriesKept = 512

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inthub_ingress_requests_total", Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "inthub_ingress_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method", "route"}),
		series: map[seriesKey]routeSeries{},
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	k := seriesKey{method, route, status}
	m.mu.RLock()
	s, ok := m.series[k]
	m.mu.RUnlock()
	if !ok {
		s = routeSeries{
			requests: m.requests.WithLabelValues(method, route, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(method, route),
		}
		m.mu.Lock()
		if len(m.series) < maxSeriesKept {
			m.series[k] = s
		}
		m.mu.Unlock()
	}
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
}
