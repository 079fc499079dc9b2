package testsvc

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// MetricsTarget is a scrape target whose gauges the test sets: Prometheus
// (PrometheusOptions.Targets = []string{target.Addr}) scrapes what Set
// last wrote, so a test decides the values a canary analysis measures.
type MetricsTarget struct {
	// Addr is the host:port to scrape (/metrics).
	Addr   string
	mu     sync.Mutex
	gauges map[string]float64
}

// StartMetricsTarget serves /metrics on a free loopback port until t ends.
func StartMetricsTarget(t testing.TB) *MetricsTarget {
	t.Helper()
	m := &MetricsTarget{gauges: map[string]float64{}}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(srv.Close)
	m.Addr = strings.TrimPrefix(srv.URL, "http://")
	return m
}

// Set makes the gauge name (a metric name, no labels) read v from now on.
func (m *MetricsTarget) Set(name string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gauges[name] = v
}

// serve writes the gauges in the text exposition format.
func (m *MetricsTarget) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	m.mu.Lock()
	names := make([]string, 0, len(m.gauges))
	for n := range m.gauges {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "# TYPE %s gauge\n%s %s\n", n, n, strconv.FormatFloat(m.gauges[n], 'g', -1, 64))
	}
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(b.String()))
}
