package cli_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/services/stella/cli"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestMetricsAndAnalysis drives `stella metrics query` and `stella analysis
// run|get|cancel` against the test hub and a real Prometheus scraping a
// target the test sets.
func TestMetricsAndAnalysis(t *testing.T) {
	t.Parallel()
	target := testsvc.StartMetricsTarget(t)
	target.Set("canary_success_ratio", 0.97)
	// Scraped every second, the default: the value never changes here, and
	// a scrape interval is also its timeout. At 100 ms a scrape slowed by a
	// loaded machine failed, Prometheus marked the series stale, and the
	// instant query a moment later found none (once in a make test run).
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{Targets: []string{target.Addr}})
	h := hubFor(t)
	env := h.env()
	it := create(t, env, "--name", "prom", "--provider", "prometheus", "--endpoint", prom.URL)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := stella(t, env, "metrics", "query", it.ID, "canary_success_ratio", "-o", "json")
		if r.code == 0 && len(mustJSON[contracts.MetricsResult](t, r).Series) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no series within 20s: %s", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	runFile := func(count int, success string) string {
		p := filepath.Join(t.TempDir(), "run.json")
		body := `{"metrics": [{"name": "success-rate", "integrationId": "` + it.ID + `", "query": "canary_success_ratio",
			"successCondition": "` + success + `", "interval": "200ms", "count": ` + strconv.Itoa(count) + `}]}`
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"instant query", []string{"metrics", "query", it.ID, "canary_success_ratio"}, 0, []string{"LABELS", `job=target`, "0.97"}, ""},
		{"range query", []string{"metrics", "query", it.ID, "canary_success_ratio", "--since", "1s", "--step", "500ms", "-o", "json"}, 0, []string{`"points"`}, ""},
		{"a bad query", []string{"metrics", "query", it.ID, "sum("}, cli.ExitInvalidInput, nil, "INVALID_METRICS_QUERY"},
		{"a step without a range", []string{"metrics", "query", it.ID, "up", "--step", "1m"}, cli.ExitInvalidInput, nil, "--since"},
		{"a run that holds, waited for", []string{"analysis", "run", "-f", runFile(2, "result[0] >= 0.95"), "--wait", "--poll", "200ms"}, 0,
			[]string{"completed successful", "success-rate"}, ""},
		{"a run that fails, waited for", []string{"analysis", "run", "-f", runFile(2, "result[0] >= 0.99"), "--wait", "--poll", "200ms"}, cli.ExitError,
			[]string{"completed failed"}, "failed"},
		{"a bad condition", []string{"analysis", "run", "-f", runFile(2, "result[0] >")}, cli.ExitInvalidInput, nil, "INVALID_CONDITION"},
		{"a missing run", []string{"analysis", "get", "0193a0b4-0000-7000-8000-0000000000aa"}, cli.ExitNotFound, nil, "ANALYSIS_RUN_NOT_FOUND"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := stella(t, env, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("want exit %d and stderr with %q, got %s", tc.code, tc.stderr, r)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Fatalf("stdout lacks %q: %s", w, r)
				}
			}
		})
	}

	t.Run("cancel and get", func(t *testing.T) {
		r := stella(t, env, "analysis", "run", "-f", runFile(1000, "true"), "-o", "json")
		if r.code != 0 {
			t.Fatalf("run: %s", r)
		}
		run := mustJSON[contracts.AnalysisRun](t, r)
		if r = stella(t, env, "analysis", "cancel", run.RunID, "--wait", "--poll", "200ms"); r.code != cli.ExitError || !strings.Contains(r.stdout, "inconclusive") {
			t.Fatalf("cancel --wait: %s", r)
		}
		if r = stella(t, env, "analysis", "get", run.RunID, "-o", "json"); r.code != 0 || mustJSON[contracts.AnalysisRun](t, r).Message != "cancelled" {
			t.Fatalf("get: %s", r)
		}
		if r = stella(t, h.env("STELLA_TOKEN="+h.otherToken), "analysis", "get", run.RunID); r.code != cli.ExitNotFound {
			t.Fatalf("another tenant's get: %s", r)
		}
	})
}
