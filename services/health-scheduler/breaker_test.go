package healthscheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/contracts"
)

// breakerSeries returns the integration_id labels of the
// inthub_circuit_breaker_state series in reg.
func breakerSeries(t *testing.T, reg prometheus.Gatherer) []string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range families {
		if f.GetName() != "inthub_circuit_breaker_state" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "integration_id" {
					ids = append(ids, l.GetValue())
				}
			}
		}
	}
	return ids
}

// The breaker series are one per integration, labelled by its id alone:
// updates do not add series, and deleting the integrations removes theirs,
// even when a check of theirs is still running at the delete.
func TestBreakerSeriesStayOnePerIntegration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewPedanticRegistry()
	cfg := fastConfig(connectors.NewRegistry(inmemory.Spec))
	cfg.Metrics = reg
	e.start(cfg)

	// Checks slower than the check period: some are always in flight.
	slow := func(mode string) map[string]any { return map[string]any{"failureMode": mode, "latencyMs": 200} }
	const n, updates = 4, 5
	its := make([]contracts.Integration, n)
	for i := range its {
		it := memIntegration(inmemory.FailNone)
		it.Config = slow(inmemory.FailNone)
		its[i] = e.put(it)
	}
	for u := range updates {
		mode := inmemory.FailNone
		if u%2 == 0 {
			mode = inmemory.FailConnectionRefused
		}
		for i := range its {
			its[i].Config = slow(mode)
			its[i] = e.put(its[i])
		}
		for _, it := range its {
			// Only the current revision's results are recorded.
			waitFor(t, "a check of the new revision", func() bool {
				c := healthOf(t, e, it).Checks[contracts.CheckConnectivity]
				return (mode == inmemory.FailNone) == (c.Status == contracts.HealthHealthy) && c.Status != ""
			})
		}
	}
	got := breakerSeries(t, reg)
	want := map[string]bool{}
	for _, it := range its {
		want[it.ID] = true
	}
	if len(got) != n {
		t.Fatalf("%d breaker series after %d updates of %d integrations, want %d: %v", len(got), updates, n, n, got)
	}
	for _, id := range got {
		if !want[id] {
			t.Errorf("breaker series labelled %q: want an integration id alone", id)
		}
	}

	for _, it := range its {
		if err := e.kv.Delete(context.Background(), it.TenantID+"."+it.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Past the checks that were running at the delete.
	time.Sleep(time.Second)
	if got := breakerSeries(t, reg); len(got) != 0 {
		t.Fatalf("breaker series of deleted integrations remain: %v", got)
	}
}
