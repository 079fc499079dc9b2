package devstack_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stella-ops/inthub/services/devstack"
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
)

// TestConsoleRunPagesInChromium reads the release verbs' results as a person
// does in the console: a CI integration's pipeline runs (one that succeeded,
// one that failed), reached from the integration's page, each with its
// pipeline and its provider link; and an analysis run against a real
// Prometheus, found by its id, with its verdict, its metric's phase and
// every measurement.
func TestConsoleRunPagesInChromium(t *testing.T) {
	t.Parallel()
	ci := &stepCI{runs: map[string]contracts.PipelineRunStatus{}}
	s := startPipelineStackWith(t, ci, func(cfg *devstack.Config) {
		cfg.Services.PipelineRunner = pipelinerunner.Config{PollInterval: 20 * time.Millisecond, MaxPollInterval: 40 * time.Millisecond}
		cfg.Policy = httpx.GuardPolicy{AllowPrivate: true} // the test's Prometheus listens on loopback
	})
	token := s.info.Token

	// Two runs through the API, each followed to its verdict.
	ciID := s.createStepCI("Release CI")
	var triggered []string // "run id|pipeline|status|provider link", in trigger order
	for _, tc := range []struct {
		pipeline string
		verdict  contracts.PipelineRunStatus
	}{{"deploy", contracts.RunSucceeded}, {"broken", contracts.RunFailed}} {
		r := s.call("POST", "/api/v1/integrations/"+ciID+"/runs", token, map[string]any{"pipeline": tc.pipeline, "ref": "main"})
		if r.status != http.StatusAccepted {
			t.Fatalf("trigger %s: %d %s", tc.pipeline, r.status, r.body)
		}
		var started struct{ RunID string }
		r.decode(&started)
		var run contracts.PipelineRun
		waitFor(t, 20*time.Second, "run "+tc.pipeline+" to finish", func() bool {
			s.call("GET", "/api/v1/integrations/"+ciID+"/runs/"+started.RunID, token, nil).decode(&run)
			return run.Status.Final()
		})
		if run.Status != tc.verdict || run.WebURL == "" {
			t.Fatalf("run %s ended %+v, want %s with a provider link", tc.pipeline, run, tc.verdict)
		}
		triggered = append(triggered, strings.Join([]string{run.RunID, tc.pipeline, string(run.Status), run.WebURL}, "|"))
	}

	// An analysis run of two measurements, once Prometheus has scraped.
	prometheus := scrapedPrometheus(t, s)
	r := s.call("POST", "/api/v1/analysis-runs", token, map[string]any{"metrics": []map[string]any{{
		"name": "success-rate", "integrationId": prometheus.ID, "query": "canary_success_ratio",
		"successCondition": "result[0] >= 0.95", "interval": "200ms", "count": 2,
	}}})
	if r.status != http.StatusCreated {
		t.Fatalf("analysis run: %d %s", r.status, r.body)
	}
	var analysis contracts.AnalysisRun
	location := r.header.Get("Location")
	waitFor(t, 20*time.Second, "the analysis run to complete", func() bool {
		s.call("GET", location, token, nil).decode(&analysis)
		return analysis.Status == "completed"
	})
	if analysis.Verdict != contracts.AnalysisSuccessful || len(analysis.Results) != 1 || len(analysis.Measurements) != 2 {
		t.Fatalf("analysis run %+v, want successful after 2 measurements of one metric", analysis)
	}

	b := browser(t)
	ctx := tab(t, b)
	login(t, ctx, s.base, token)

	t.Run("pipeline runs", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(s.base+"/console/integrations/"+ciID), chromedp.WaitVisible(chromedp.CSS(`a[href$="/runs"]`)))
		load(t, ctx, chromedp.Click(chromedp.CSS(`a[href$="/runs"]`)))
		run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#pipeline-runs")))
		shot(t, ctx, "pipeline-runs")
		rows := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#pipeline-runs tbody tr[data-status]')].map(tr =>
			[tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim(), tr.dataset.status, tr.cells[6].querySelector('a')?.href ?? ''].join("|"))`))
		newestFirst := slices.Clone(triggered)
		slices.Reverse(newestFirst)
		if !slices.Equal(rows, newestFirst) {
			t.Fatalf("runs page rows\n%v\nwant, newest first,\n%v", rows, newestFirst)
		}
	})

	t.Run("analysis run", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(s.base+"/console/analysis-runs"), chromedp.WaitVisible(chromedp.CSS("#run-id")),
			chromedp.SendKeys(chromedp.CSS("#run-id"), analysis.RunID))
		load(t, ctx, chromedp.Submit(chromedp.CSS("#run-id")))
		run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#analysis-run")))
		shot(t, ctx, "analysis-run")
		verdict := get(t, ctx, chromedp.AttributeValue(chromedp.CSS("#analysis-run [data-verdict]"), "data-verdict")).Value
		if verdict != contracts.AnalysisSuccessful {
			t.Fatalf("verdict %q, want %s", verdict, contracts.AnalysisSuccessful)
		}
		metrics := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#analysis-metrics tbody tr[data-phase]')].map(tr =>
			[tr.cells[0].textContent, tr.dataset.phase, tr.cells[2].textContent, tr.cells[3].textContent].join("|"))`))
		if want := []string{"success-rate|" + analysis.Results[0].Phase + "|2|2"}; !slices.Equal(metrics, want) {
			t.Fatalf("metrics %v, want %v", metrics, want)
		}
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#analysis-measurements tbody tr td:nth-child(3)').length`)); n != len(analysis.Measurements) {
			t.Fatalf("%d measurement rows, want the run's %d", n, len(analysis.Measurements))
		}
	})
}
