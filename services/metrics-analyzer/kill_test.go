package metricsanalyzer_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	metricsanalyzer "github.com/stella-ops/inthub/services/metrics-analyzer"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/metrics/prometheus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// analyzerProcessEnv marks the test binary started as an analyzer process.
const analyzerProcessEnv = "INTHUB_TEST_ANALYZER_PROCESS"

// TestAnalyzerProcess is not a test: started by TestAnalyzerKilledMidRun
// with analyzerProcessEnv set, it is a metrics-analyzer process (settings
// from the environment, as its main reads them) until it is killed.
func TestAnalyzerProcess(t *testing.T) {
	if os.Getenv(analyzerProcessEnv) == "" {
		t.Skip("a helper process of TestAnalyzerKilledMidRun, run only by it")
	}
	cfg, err := metricsanalyzer.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Registry, cfg.Tick = connectors.NewRegistry(prometheus.Spec), 50*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := metricsanalyzer.Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// startProcess runs the analyzer as a process of its own on the test's
// NATS; kill ends it with SIGKILL (kill -9): nothing of it runs after.
func (c *canary) startProcess(t *testing.T) (kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAnalyzerProcess$")
	cmd.Env = append(os.Environ(), analyzerProcessEnv+"=1", "NATS_URL="+c.e.srv.ClientURL(),
		"INTHUB_ALLOW_PRIVATE_NETWORKS=true")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill = func() {
		if !killed {
			killed = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	t.Cleanup(kill)
	return kill
}

// TestAnalyzerKilledMidRun kills the only analyzer process with SIGKILL
// (kill -9) in the middle of a run and starts another: the run carries on
// from its stored state, every measurement is stored once, and exactly one
// analysis.run.completed is stored. `make chaos` (scenario
// kill-metrics-analyzer) does the same under load.
func TestAnalyzerKilledMidRun(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	kill := c.startProcess(t)
	c.waitScraped(t, 0.99)
	id := c.run(t, c.metric(8, 0))
	waitFor(t, 30*time.Second, "two measurements", func() bool { ms, _ := c.of(id); return len(ms) >= 2 })
	kill()
	ms, _ := c.of(id)
	t.Logf("killed after %d measurements", len(ms))
	time.Sleep(500 * time.Millisecond)
	c.startProcess(t)
	done, ms := c.verdict(t, id)
	if done.Verdict != contracts.AnalysisSuccessful || done.Metrics[0].Measurements != 8 || len(ms) != 8 {
		t.Fatalf("completed %+v with %d stored measurements, want successful after 8", done, len(ms))
	}
	for i, m := range ms {
		if m.Index != i {
			t.Fatalf("measurement %d has index %d: stored twice or out of order", i, m.Index)
		}
	}
}
