package healthscheduler_test

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
)

// TestOnPublishedSeesEverySlotAfterItIsDue checks the hook schedbench
// measures lag with: called once per published slot, never before the
// slot was due, as often as inthub_health_checks_scheduled_total counts.
func TestOnPublishedSeesEverySlotAfterItIsDue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	var calls int
	var early []time.Duration
	metrics := prometheus.NewRegistry()
	cfg := fastConfig(connectors.NewRegistry(inmemory.Spec))
	cfg.Metrics = metrics
	cfg.OnPublished = func(due, published time.Time) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if published.Before(due) {
			early = append(early, due.Sub(published))
		}
	}
	for range 3 {
		e.put(memIntegration(inmemory.FailNone))
	}
	stop := e.start(cfg)
	waitFor(t, "slots published", func() bool { mu.Lock(); defer mu.Unlock(); return calls >= 20 })
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(early) > 0 {
		t.Fatalf("%d slots published before they were due, by up to %v", len(early), early[0])
	}
	if published := testutil.ToFloat64(scheduledTotal(t, metrics)); published != float64(calls) {
		t.Fatalf("OnPublished called %d times for %v published slots", calls, published)
	}
}

func scheduledTotal(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "scheduled"})
	for _, mf := range mfs {
		if mf.GetName() == "inthub_health_checks_scheduled_total" {
			g.Set(mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	return g
}
