package ingress

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHTTPMetricsSeries: each request counts in its method, route and
// status, whether its series is kept or (past maxSeriesKept) not.
func TestHTTPMetricsSeries(t *testing.T) {
	t.Parallel()
	m := newHTTPMetrics(nil)
	for range 3 {
		m.observe("GET", "/api/v1/integrations/{id}", 200, time.Millisecond)
	}
	m.observe("GET", "/api/v1/integrations/{id}", 404, time.Millisecond)
	for i := range maxSeriesKept + 10 {
		m.observe(fmt.Sprintf("M%d", i), "other", 405, time.Millisecond)
	}
	m.observe("M0", "other", 405, time.Millisecond)
	m.observe(fmt.Sprintf("M%d", maxSeriesKept+5), "other", 405, time.Millisecond)
	for _, c := range []struct {
		method, route, status string
		want                  float64
	}{
		{"GET", "/api/v1/integrations/{id}", "200", 3},
		{"GET", "/api/v1/integrations/{id}", "404", 1},
		{"M0", "other", "405", 2},
		{fmt.Sprintf("M%d", maxSeriesKept+5), "other", "405", 2},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.method, c.route, c.status)); got != c.want {
			t.Errorf("%s %s %s: %v requests, want %v", c.method, c.route, c.status, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.duration); n != maxSeriesKept+11 {
		t.Errorf("%d duration series, want %d", n, maxSeriesKept+11)
	}
	if n := len(*m.series.Load()); n > maxSeriesKept {
		t.Errorf("%d series kept, bound %d", n, maxSeriesKept)
	}
}
