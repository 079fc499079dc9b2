package metricsanalyzer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/analysisruns"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestRunEndpoints: inthub.analyzer.runs.create refuses a bad condition or
// query or a missing integration with 400 and stores nothing, starts a good run, whose get answers
// it running and then completed with the verdict the bus announced;
// cancel completes a run as inconclusive; another tenant's run is 404.
func TestRunEndpoints(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	c.e.start()
	c.waitScraped(t, 0.99)
	client := analysisruns.NewClient(c.e.nc, 10*time.Second)
	ctx := context.Background()
	status := func(err error) (int, string) {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			return ae.Status, ae.Code
		}
		return 0, ""
	}
	create := func(m contracts.AnalysisMetric) (contracts.AnalysisRun, error) {
		return client.Create(ctx, analysisruns.CreateRequest{TenantID: tenant, RunID: uuid.NewString(), Input: contracts.AnalysisRunInput{Metrics: []contracts.AnalysisMetric{m}}})
	}

	refusals := []struct {
		name   string
		change func(*contracts.AnalysisMetric)
		status int
		code   string
	}{
		{"bad condition", func(m *contracts.AnalysisMetric) { m.SuccessCondition = "result[0] >" }, 400, apierr.InvalidCondition},
		{"bad query", func(m *contracts.AnalysisMetric) { m.Query = "rate(" }, 400, apierr.InvalidMetricsQuery},
		{"missing integration", func(m *contracts.AnalysisMetric) { m.IntegrationID = uuid.NewString() }, 400, "INTEGRATION_NOT_FOUND"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			m := c.metric(2, 0)
			tc.change(&m)
			_, err := create(m)
			if st, code := status(err); st != tc.status || code != tc.code {
				t.Fatalf("create: %v (%d %s), want %d %s", err, st, code, tc.status, tc.code)
			}
		})
	}

	run, err := create(c.metric(3, 0))
	if err != nil || run.Status != "running" || run.Verdict != "" {
		t.Fatalf("create: %+v, %v", run, err)
	}
	done, _ := c.verdict(t, run.RunID)
	got, err := client.Get(ctx, analysisruns.GetRequest{TenantID: tenant, ID: run.RunID})
	if err != nil || got.Status != "completed" || got.Verdict != done.Verdict || done.Verdict != contracts.AnalysisSuccessful ||
		len(got.Measurements) != 3 || got.CompletedAt == nil || len(got.Results) != 1 || got.Results[0].Successful != 3 {
		t.Fatalf("get: %+v, %v (announced %+v)", got, err, done)
	}
	if got.Measurements[0].Result != nil || got.Measurements[2].Result == nil {
		t.Fatalf("stored results: first %v, last %v; want only the latest kept (the others are in their events)", got.Measurements[0].Result, got.Measurements[2].Result)
	}
	if _, err := client.Get(ctx, analysisruns.GetRequest{TenantID: "other-tenant", ID: run.RunID}); !matches(status(err)) {
		t.Fatalf("another tenant's get: %v, want 404 %s", err, analysisruns.RunNotFound)
	}

	long, err := create(c.metric(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Cancel(ctx, analysisruns.CancelRequest{TenantID: "other-tenant", ID: long.RunID}); !matches(status(err)) {
		t.Fatalf("another tenant's cancel: %v", err)
	}
	if got, err := client.Cancel(ctx, analysisruns.CancelRequest{TenantID: tenant, ID: long.RunID}); err != nil || !got.Cancelled {
		t.Fatalf("cancel: %+v, %v", got, err)
	}
	if done, _ := c.verdict(t, long.RunID); done.Verdict != contracts.AnalysisInconclusive || done.Message != "cancelled" {
		t.Fatalf("cancelled run completed %+v", done)
	}
}

func matches(status int, code string) bool { return status == 404 && code == analysisruns.RunNotFound }
