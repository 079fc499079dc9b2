package ingress

import (
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
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
	// asked as before. The map is never changed once published (a new
	// series copies it, under mu), so a request reads it without a lock:
	// a read lock's shared counter was written by every request.
	mu     sync.Mutex
	series atomic.Pointer[map[seriesKey]routeSeries]
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
	}
	m.series.Store(&map[seriesKey]routeSeries{})
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	k := seriesKey{method, route, status}
	s, ok := (*m.series.Load())[k]
	if !ok {
		s = routeSeries{
			requests: m.requests.WithLabelValues(method, route, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(method, route),
		}
		m.keep(k, s)
	}
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
}

// keep adds s to the series kept, while they are fewer than maxSeriesKept.
func (m *httpMetrics) keep(k seriesKey, s routeSeries) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.series.Load()
	if _, ok := old[k]; ok || len(old) >= maxSeriesKept {
		return
	}
	next := make(map[seriesKey]routeSeries, len(old)+1)
	maps.Copy(next, old)
	next[k] = s
	m.series.Store(&next)
}
