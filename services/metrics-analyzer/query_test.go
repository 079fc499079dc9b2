package metricsanalyzer_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestQueryOverTheBus sends metrics.query.requested for a real Prometheus
// scraping a target the test controls and checks each answer of
// metrics.query.completed: series, no data as an empty result, a bad query
// as INVALID_METRICS_QUERY, a missing integration, and an outage.
func TestQueryOverTheBus(t *testing.T) {
	t.Parallel()
	target := testsvc.StartMetricsTarget(t)
	target.Set("canary_success_ratio", 0.99)
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{Targets: []string{target.Addr}, ScrapeInterval: 200 * time.Millisecond})
	e := newEnv(t)
	e.start()
	it := e.prometheusAt(prom.URL)
	answers := subscribe[contracts.MetricsQueryCompleted](e, contracts.SubjectMetricsQueryDone+".>")
	ask := func(integrationID, query string) contracts.MetricsQueryCompleted {
		t.Helper()
		id := uuid.NewString()
		e.publish("metrics-query-request:"+id, contracts.Subject(contracts.SubjectMetricsQueryRequest, tenant, integrationID), tenant, integrationID,
			contracts.MetricsQueryRequested{RequestID: id, TenantID: tenant, IntegrationID: integrationID, Query: contracts.MetricsQuery{Query: query}})
		var got contracts.MetricsQueryCompleted
		waitFor(t, 15*time.Second, "the answer of "+query, func() bool {
			for _, a := range answers() {
				if a.RequestID == id {
					got = a
					return true
				}
			}
			return false
		})
		return got
	}
	waitFor(t, 20*time.Second, "a scrape", func() bool {
		a := ask(it.ID, "canary_success_ratio")
		return a.Result != nil && len(a.Result.Series) == 1
	})
	tests := []struct {
		name        string
		integration string
		query       string
		series      int
		code        string
	}{
		{"a scraped gauge", it.ID, "canary_success_ratio", 1, ""},
		{"no data is an empty result", it.ID, `canary_success_ratio{job="other"}`, 0, ""},
		{"a syntax error", it.ID, "sum(", 0, apierr.InvalidMetricsQuery},
		{"an empty query", it.ID, "", 0, apierr.InvalidMetricsQuery},
		{"a missing integration", uuid.NewString(), "up", 0, string(resilience.IntegrationNotFound)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := ask(tc.integration, tc.query)
			if tc.code != "" {
				if a.Error == nil || a.Error.Code != tc.code || a.Result != nil {
					t.Fatalf("answer %+v, want error %s", a, tc.code)
				}
				return
			}
			if a.Error != nil || a.Result == nil || len(a.Result.Series) != tc.series {
				t.Fatalf("answer %+v (error %+v), want %d series", a.Result, a.Error, tc.series)
			}
			if tc.series == 1 && *a.Result.Series[0].Points[0].Value != 0.99 {
				t.Fatalf("value %v, want 0.99", *a.Result.Series[0].Points[0].Value)
			}
		})
	}
	t.Run("an outage", func(t *testing.T) {
		prom.Stop(t)
		defer prom.Start(t)
		if a := ask(it.ID, "up"); a.Error == nil || a.Error.Code != string(resilience.ConnectionRefused) {
			t.Fatalf("answer %+v, want CONNECTION_REFUSED", a.Error)
		}
	})
}
