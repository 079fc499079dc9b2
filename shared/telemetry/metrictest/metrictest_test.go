package metrictest_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/telemetry/metrictest"
)

func TestValueSumsTheSeriesWithTheLabels(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total"}, []string{"check", "status"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h"})
	reg.MustRegister(c, g, h)
	c.WithLabelValues("connectivity", "healthy").Add(2)
	c.WithLabelValues("connectivity", "unhealthy").Add(3)
	c.WithLabelValues("authentication", "healthy").Add(5)
	g.Set(7)
	h.Observe(1)
	h.Observe(2)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"c_total", nil, 10},
		{"c_total", []string{"check", "connectivity"}, 5},
		{"c_total", []string{"check", "connectivity", "status", "healthy"}, 2},
		{"c_total", []string{"check", "functionality"}, 0},
		{"g", nil, 7},
		{"h", nil, 2},
		{"absent", nil, 0},
	} {
		if got := metrictest.Value(t, reg, tc.name, tc.labels...); got != tc.want {
			t.Errorf("Value(%s, %v) = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}
