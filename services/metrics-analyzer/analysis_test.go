package metricsanalyzer_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// canary is a Prometheus scraping a target whose gauge
// canary_success_ratio the test sets, with an analyzer on an embedded
// JetStream, and the analysis events as the stream stores them.
type canary struct {
	e         *env
	target    *testsvc.MetricsTarget
	prom      *testsvc.Prometheus
	it        contracts.Integration
	measured  func() []contracts.AnalysisRunMeasured
	completed func() []contracts.AnalysisRunCompleted
}

func newCanary(t *testing.T) *canary {
	t.Helper()
	target := testsvc.StartMetricsTarget(t)
	target.Set("canary_success_ratio", 0.99)
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{Targets: []string{target.Addr}, ScrapeInterval: 100 * time.Millisecond})
	e := newEnv(t)
	c := &canary{e: e, target: target, prom: prom, it: e.prometheusAt(prom.URL)}
	c.measured = stored[contracts.AnalysisRunMeasured](e, contracts.SubjectAnalysisMeasured+".>")
	c.completed = stored[contracts.AnalysisRunCompleted](e, contracts.SubjectAnalysisCompleted+".>")
	return c
}

// metric is the canary's success-rate metric.
func (c *canary) metric(count, failureLimit int) contracts.AnalysisMetric {
	return contracts.AnalysisMetric{Name: "success-rate", IntegrationID: c.it.ID, Query: `canary_success_ratio{job="target"}`,
		SuccessCondition: "result[0] >= 0.95", Interval: "300ms", Count: count, FailureLimit: failureLimit}
}

func (c *canary) run(t *testing.T, metrics ...contracts.AnalysisMetric) string {
	t.Helper()
	id := uuid.NewString()
	c.e.publish("analysis-request:"+id, contracts.Subject(contracts.SubjectAnalysisRequested, tenant, id), tenant, id,
		contracts.AnalysisRunRequested{RunID: id, TenantID: tenant, Metrics: metrics})
	return id
}

// of lists the stored events of one run.
func (c *canary) of(runID string) ([]contracts.AnalysisMeasurement, []contracts.AnalysisRunCompleted) {
	var ms []contracts.AnalysisMeasurement
	var done []contracts.AnalysisRunCompleted
	for _, m := range c.measured() {
		if m.RunID == runID {
			ms = append(ms, m.Measurement)
		}
	}
	for _, d := range c.completed() {
		if d.RunID == runID {
			done = append(done, d)
		}
	}
	return ms, done
}

// verdict waits for the run's completion, then a little longer, and
// fails unless exactly one was stored.
func (c *canary) verdict(t *testing.T, runID string) (contracts.AnalysisRunCompleted, []contracts.AnalysisMeasurement) {
	t.Helper()
	waitFor(t, 30*time.Second, "analysis.run.completed of "+runID, func() bool { _, d := c.of(runID); return len(d) > 0 })
	time.Sleep(500 * time.Millisecond) // room for a second one, which must not come
	ms, done := c.of(runID)
	if len(done) != 1 {
		t.Fatalf("%d analysis.run.completed stored for run %s, want exactly 1: %+v", len(done), runID, done)
	}
	return done[0], ms
}

// waitScraped sets the gauge to v and waits until Prometheus answers it.
func (c *canary) waitScraped(t *testing.T, v float64) {
	t.Helper()
	c.target.Set("canary_success_ratio", v)
	want := strconv.FormatFloat(v, 'g', -1, 64)
	waitFor(t, 20*time.Second, "Prometheus to scrape "+want, func() bool {
		resp, err := http.Get(c.prom.URL + "/api/v1/query?query=canary_success_ratio")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var answer struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&answer) != nil || len(answer.Data.Result) != 1 || len(answer.Data.Result[0].Value) != 2 {
			return false
		}
		return answer.Data.Result[0].Value[1] == want
	})
}

// TestAnalysisVerdictsOfARealPrometheus: with values that hold, a run of
// four measurements is successful; when they cross the limit mid-run, the
// run fails as soon as failures pass failureLimit; each completes once,
// with one analysis.run.measured per measurement.
func TestAnalysisVerdictsOfARealPrometheus(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	c.e.start()
	c.waitScraped(t, 0.99)

	t.Run("values hold", func(t *testing.T) {
		id := c.run(t, c.metric(4, 0))
		done, ms := c.verdict(t, id)
		if done.Verdict != contracts.AnalysisSuccessful || len(done.Metrics) != 1 || done.Metrics[0].Successful != 4 || len(ms) != 4 {
			t.Fatalf("completed %+v with %d measurements, want successful after 4", done, len(ms))
		}
		for i, m := range ms {
			if m.Index != i || m.Phase != contracts.AnalysisSuccessful || m.Result == nil || *m.Result.Series[0].Points[0].Value != 0.99 {
				t.Fatalf("measurement %d = %+v", i, m)
			}
		}
	})
	t.Run("values cross the limit", func(t *testing.T) {
		id := c.run(t, c.metric(20, 1))
		waitFor(t, 20*time.Second, "two good measurements", func() bool { ms, _ := c.of(id); return len(ms) >= 2 })
		c.waitScraped(t, 0.5)
		done, ms := c.verdict(t, id)
		m := done.Metrics[0]
		if done.Verdict != contracts.AnalysisFailed || m.Phase != contracts.AnalysisFailed || m.Failed != 2 || m.Successful < 2 || len(ms) != m.Measurements || len(ms) >= 20 {
			t.Fatalf("completed %+v with %d measurements, want failed at the second failure", done, len(ms))
		}
	})
	t.Run("no data is inconclusive", func(t *testing.T) {
		metric := c.metric(2, 0)
		metric.Query = `canary_success_ratio{job="target"} > 2` // valid, never any data
		done, _ := c.verdict(t, c.run(t, metric))
		if done.Verdict != contracts.AnalysisInconclusive || done.Metrics[0].Inconclusive != 1 {
			t.Fatalf("completed %+v, want inconclusive", done)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c.waitScraped(t, 0.99)
		id := c.run(t, c.metric(100, 0))
		waitFor(t, 20*time.Second, "a measurement", func() bool { ms, _ := c.of(id); return len(ms) >= 1 })
		c.e.publish("analysis-cancel:"+id, contracts.Subject(contracts.SubjectAnalysisCancel, tenant, id), tenant, id,
			contracts.AnalysisRunCancelRequested{RunID: id, TenantID: tenant})
		done, _ := c.verdict(t, id)
		if done.Verdict != contracts.AnalysisInconclusive || done.Message != "cancelled" {
			t.Fatalf("completed %+v, want inconclusive (cancelled)", done)
		}
	})
	t.Run("an outage is an error, not a failure", func(t *testing.T) {
		metric := c.metric(10, 0)
		metric.ConsecutiveErrorLimit = new(int) // the first error decides
		id := c.run(t, metric)
		waitFor(t, 20*time.Second, "a measurement", func() bool { ms, _ := c.of(id); return len(ms) >= 1 })
		c.prom.Stop(t)
		defer c.prom.Start(t)
		done, ms := c.verdict(t, id)
		last := ms[len(ms)-1]
		if done.Verdict != contracts.AnalysisError || done.Metrics[0].Failed != 0 || last.Phase != contracts.AnalysisError ||
			last.Error == nil || last.Error.Code != string(resilience.ConnectionRefused) {
			t.Fatalf("completed %+v, last measurement %+v; want error of CONNECTION_REFUSED", done, last)
		}
	})
}

// TestAnalysisSurvivesTheAnalyzerStopping stops the only analyzer in the
// middle of a run and starts another: the run carries on from its stored
// state, every measurement is stored once, and it completes exactly once.
// Then two replicas share runs: each step is taken once whichever replica
// takes it, also when one of them stops mid-run.
func TestAnalysisSurvivesTheAnalyzerStopping(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	first := c.e.start()
	c.waitScraped(t, 0.99)
	check := func(t *testing.T, id string, count int) {
		t.Helper()
		done, ms := c.verdict(t, id)
		if done.Verdict != contracts.AnalysisSuccessful || done.Metrics[0].Measurements != count || len(ms) != count {
			t.Fatalf("completed %+v with %d stored measurements, want successful after %d", done, len(ms), count)
		}
		for i, m := range ms {
			if m.Index != i {
				t.Fatalf("measurement %d has index %d: stored twice or out of order", i, m.Index)
			}
		}
	}
	t.Run("restarted", func(t *testing.T) {
		id := c.run(t, c.metric(8, 0))
		waitFor(t, 20*time.Second, "two measurements", func() bool { ms, _ := c.of(id); return len(ms) >= 2 })
		first.stop()
		time.Sleep(time.Second)
		c.e.start()
		check(t, id, 8)
	})
	t.Run("two replicas, one stopping", func(t *testing.T) {
		third := c.e.start()
		ids := []string{c.run(t, c.metric(6, 0)), c.run(t, c.metric(6, 0)), c.run(t, c.metric(6, 0))}
		waitFor(t, 20*time.Second, "a measurement of each", func() bool {
			for _, id := range ids {
				if ms, _ := c.of(id); len(ms) < 2 {
					return false
				}
			}
			return true
		})
		third.stop()
		for _, id := range ids {
			check(t, id, 6)
		}
	})
}

// TestBadRunsAreRefusedWhenRequested: a query the provider refuses, a
// condition that does not compile or is not boolean, and a missing
// integration complete the run at once with verdict error and a 4xx code,
// before any measurement.
func TestBadRunsAreRefusedWhenRequested(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	c.e.start()
	with := func(change func(*contracts.AnalysisMetric)) contracts.AnalysisMetric {
		m := c.metric(3, 0)
		change(&m)
		return m
	}
	tests := []struct {
		name   string
		metric contracts.AnalysisMetric
		code   string
	}{
		{"a syntax error in the query", with(func(m *contracts.AnalysisMetric) { m.Query = "sum(" }), apierr.InvalidMetricsQuery},
		{"a condition that does not parse", with(func(m *contracts.AnalysisMetric) { m.SuccessCondition = "result[0] >=" }), apierr.InvalidCondition},
		{"a condition that is not boolean", with(func(m *contracts.AnalysisMetric) { m.SuccessCondition = "result[0] * 2" }), apierr.InvalidCondition},
		{"a condition with an unknown name", with(func(m *contracts.AnalysisMetric) { m.FailureCondition = "errors > 1" }), apierr.InvalidCondition},
		{"no condition", with(func(m *contracts.AnalysisMetric) { m.SuccessCondition = "" }), apierr.ValidationFailed},
		{"an interval too short", with(func(m *contracts.AnalysisMetric) { m.Interval = "1ms" }), apierr.ValidationFailed},
		{"a missing integration", with(func(m *contracts.AnalysisMetric) { m.IntegrationID = uuid.NewString() }), string(resilience.IntegrationNotFound)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := c.run(t, tc.metric)
			done, ms := c.verdict(t, id)
			if done.Verdict != contracts.AnalysisError || done.Error == nil || done.Error.Code != tc.code || len(ms) != 0 {
				t.Fatalf("completed %+v (error %+v), %d measurements; want refused with %s", done, done.Error, len(ms), tc.code)
			}
		})
	}
}
