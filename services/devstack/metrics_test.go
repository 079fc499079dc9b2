package devstack_test

import (
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestMetricsQueryOverHTTP: POST /api/v1/integrations/{id}/query through
// the whole hub (ingress, bus, metrics-analyzer, a real Prometheus
// scraping a target the test sets) answers series; no data is 200 with no
// series; a bad query is 400 INVALID_METRICS_QUERY, checked before the bus
// or by Prometheus; a non-metrics integration is 400 NOT_SUPPORTED.
func TestMetricsQueryOverHTTP(t *testing.T) {
	t.Parallel()
	s := startDiscoveryStack(t, "")
	token := s.info.Token
	promID := scrapedPrometheus(t, s).ID
	hookID := s.createIntegration("webhook", map[string]any{"url": "https://hooks.example.com/x"}).ID
	path := "/api/v1/integrations/" + promID + "/query"
	var res contracts.MetricsResult
	if r := s.call("POST", path, token, map[string]any{"query": "canary_success_ratio"}); r.status != 200 {
		t.Fatalf("query: %d %s", r.status, r.body)
	} else {
		r.decode(&res)
	}
	if len(res.Series) != 1 || len(res.Series[0].Points) == 0 {
		t.Fatalf("series %+v", res.Series)
	}
	if v := res.Series[0].Points[0].Value; v == nil || *v != 0.98 || res.Series[0].Labels["job"] != "target" {
		t.Fatalf("series %+v", res.Series[0])
	}
	end := time.Now()
	start := end.Add(-time.Second)
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		series int
	}{
		{"a range", path, contracts.MetricsQuery{Query: "canary_success_ratio", Start: &start, End: &end, StepSeconds: 0.5}, 200, "", 1},
		{"no data", path, map[string]any{"query": `canary_success_ratio{job="other"}`}, 200, "", 0},
		{"a syntax error", path, map[string]any{"query": "sum("}, 400, "INVALID_METRICS_QUERY", 0},
		{"a range without a step", path, map[string]any{"query": "up", "start": start, "end": end}, 400, "INVALID_METRICS_QUERY", 0},
		{"an unknown field", path, map[string]any{"query": "up", "lookback": "5m"}, 400, "", 0},
		{"not a metrics integration", "/api/v1/integrations/" + hookID + "/query", map[string]any{"query": "up"}, 400, "NOT_SUPPORTED", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call("POST", tc.path, token, tc.body)
			if r.status != tc.status || (tc.code != "" && r.code() != tc.code) {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if tc.status == 200 {
				var res contracts.MetricsResult
				r.decode(&res)
				if len(res.Series) != tc.series {
					t.Fatalf("%d series, want %d: %s", len(res.Series), tc.series, r.body)
				}
			}
		})
	}
}

// TestAnalysisRunsOverHTTP: POST /api/v1/analysis-runs through the whole
// hub starts a run against a real Prometheus (201, Location), GET follows
// it to its verdict, a bad condition or query is 400 before anything is
// stored, and cancel completes a run as inconclusive.
func TestAnalysisRunsOverHTTP(t *testing.T) {
	t.Parallel()
	s := startDiscoveryStack(t, "")
	token := s.info.Token
	it := scrapedPrometheus(t, s)
	metric := func(count int, success, query string) map[string]any {
		return map[string]any{"metrics": []map[string]any{{"name": "success-rate", "integrationId": it.ID, "query": query,
			"successCondition": success, "interval": "200ms", "count": count}}}
	}
	follow := func(location string) contracts.AnalysisRun {
		t.Helper()
		var run contracts.AnalysisRun
		waitFor(t, 20*time.Second, "the run to complete", func() bool {
			r := s.call("GET", location, token, nil)
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", location, r.status, r.body)
			}
			r.decode(&run)
			return run.Status == "completed"
		})
		return run
	}

	r := s.call("POST", "/api/v1/analysis-runs", token, metric(2, "result[0] >= 0.95", "canary_success_ratio"))
	if r.status != 201 || r.header.Get("Location") == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if run := follow(r.header.Get("Location")); run.Verdict != contracts.AnalysisSuccessful || len(run.Measurements) != 2 {
		t.Fatalf("run %+v, want successful after 2 measurements", run)
	}
	for _, tc := range []struct {
		name string
		body map[string]any
		code string
	}{
		{"a condition that does not compile", metric(2, "result[0] >=", "canary_success_ratio"), "INVALID_CONDITION"},
		{"a query Prometheus refuses", metric(2, "true", "rate("), "INVALID_METRICS_QUERY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := s.call("POST", "/api/v1/analysis-runs", token, tc.body); r.status != 400 || r.code() != tc.code {
				t.Fatalf("%d %s, want 400 %s", r.status, r.body, tc.code)
			}
		})
	}
	r = s.call("POST", "/api/v1/analysis-runs", token, metric(1000, "true", "canary_success_ratio"))
	location := r.header.Get("Location")
	if r = s.call("POST", location+"/cancel", token, nil); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if run := follow(location); run.Verdict != contracts.AnalysisInconclusive || !run.Cancelled {
		t.Fatalf("cancelled run %+v", run)
	}
	if r = s.call("GET", "/api/v1/analysis-runs/"+it.ID, token, nil); r.status != 404 || r.code() != "ANALYSIS_RUN_NOT_FOUND" {
		t.Fatalf("a missing run: %d %s", r.status, r.body)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrapedPrometheus starts a metrics target serving canary_success_ratio
// 0.98 and a real Prometheus scraping it every second, creates a prometheus
// integration for it on s, and returns it once a query through the hub
// answers the series. The value never changes, so the default interval
// will do; it is also the scrape's timeout, and a shorter one lets a
// loaded machine fail a scrape, which makes the series stale (absent) until
// the next.
func scrapedPrometheus(t *testing.T, s *stack) contracts.Integration {
	t.Helper()
	target := testsvc.StartMetricsTarget(t)
	target.Set("canary_success_ratio", 0.98)
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{Targets: []string{target.Addr}})
	it := s.createIntegration("prometheus", map[string]any{"url": prom.URL})
	waitFor(t, 20*time.Second, "a scrape", func() bool {
		var res contracts.MetricsResult
		r := s.call("POST", "/api/v1/integrations/"+it.ID+"/query", s.info.Token, map[string]any{"query": "canary_success_ratio"})
		if r.status == 200 {
			r.decode(&res)
		}
		return len(res.Series) == 1
	})
	return it
}
