package healthscheduler

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// healthGauges follows the health bucket (every replica's writes, so each
// replica exports the whole catalog's figures) and exports how many
// integrations are in each status and how long the longest-unhealthy one
// has been so: what "an integration unhealthy for long" is alerted on,
// without a series per integration. "Since" is when this replica saw the
// integration turn unhealthy; one already unhealthy when the replica
// started counts from its start.
type healthGauges struct {
	now func() time.Time

	mu    sync.Mutex
	byKey map[string]healthSeen

	count, longest *prometheus.Desc
}

type healthSeen struct {
	status contracts.HealthStatus
	since  time.Time
}

func newHealthGauges(now func() time.Time) *healthGauges {
	if now == nil {
		now = time.Now
	}
	return &healthGauges{now: now, byKey: map[string]healthSeen{},
		count: prometheus.NewDesc("inthub_integrations",
			"Integrations by confirmed health status (from the health bucket; integrations never checked yet are not counted).", []string{"status"}, nil),
		longest: prometheus.NewDesc("inthub_integration_unhealthy_longest_seconds",
			"How long the integration unhealthy the longest has been unhealthy (as this replica saw it turn so); 0 when none is.", nil, nil),
	}
}

// follow keeps the gauges current until ctx ends.
func (g *healthGauges) follow(ctx context.Context, kv jetstream.KeyValue) error {
	return catalog.Follow(ctx, kv, g.apply, nil)
}

// apply takes one health record (or its deletion).
func (g *healthGauges) apply(e jetstream.KeyValueEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(g.byKey, e.Key())
		return
	}
	// Only the status is needed: decoding the checks of every write would
	// cost the watch most of its time.
	var rec struct {
		Status contracts.HealthStatus `json:"status"`
	}
	if err := json.Unmarshal(e.Value(), &rec); err != nil || !rec.Status.Valid() {
		return
	}
	old, had := g.byKey[e.Key()]
	if had && old.status == rec.Status {
		return
	}
	g.byKey[e.Key()] = healthSeen{status: rec.Status, since: g.now()}
}

func (g *healthGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.count
	ch <- g.longest
}

func (g *healthGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	counts := map[contracts.HealthStatus]int{}
	var longest time.Duration
	now := g.now()
	for _, s := range g.byKey {
		counts[s.status]++
		if s.status == contracts.HealthUnhealthy {
			longest = max(longest, now.Sub(s.since))
		}
	}
	for _, st := range []contracts.HealthStatus{contracts.HealthHealthy, contracts.HealthDegraded, contracts.HealthUnhealthy, contracts.HealthUnknown} {
		ch <- prometheus.MustNewConstMetric(g.count, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(g.longest, prometheus.GaugeValue, longest.Seconds())
}
