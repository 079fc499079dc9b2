package healthscheduler_test

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/telemetry/metrictest"
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
	if published := metrictest.Value(t, metrics, "inthub_health_checks_scheduled_total"); published != float64(calls) {
		t.Fatalf("OnPublished called %d times for %v published slots", calls, published)
	}
}
