package startup

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/natstest"
)

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// connEventCount reads inthub_nats_connection_events_total{event} of reg.
func connEventCount(t *testing.T, reg *prometheus.Registry, event string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "inthub_nats_connection_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "event" && l.GetValue() == event {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

// eventually waits up to d for cond.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestRunWaitsForNATS: a service started before its NATS server waits for
// it (logged, counted, not ready, its Start part already answering) and
// becomes ready once NATS comes up; then a NATS restart is logged and
// counted as a disconnect and a reconnect, and the service keeps running.
func TestRunWaitsForNATS(t *testing.T) {
	t.Parallel()
	port := natstest.FreePort(t)
	store := t.TempDir()
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	cfg := bus.DefaultConfig()
	cfg.URL, cfg.Name = fmt.Sprintf("nats://127.0.0.1:%d", port), "late"
	ready := make(chan struct{})
	started := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Spec{
			Name: "late", Bus: cfg, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Metrics: reg, Ready: Closer(ready),
			Start: func(ctx context.Context) error { close(started); <-ctx.Done(); return nil },
			Wire:  func(context.Context, *Wiring) error { return nil },
		})
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not run while NATS was away")
	}
	eventually(t, 5*time.Second, "two failed connects", func() bool { return connEventCount(t, reg, connFailed) >= 2 })
	select {
	case <-ready:
		t.Fatal("ready without NATS")
	case err := <-done:
		t.Fatalf("Run ended without NATS (%v): it must wait", err)
	default:
	}
	if !strings.Contains(logs.String(), "late waiting for NATS") {
		t.Errorf("the wait is not logged: %s", logs)
	}

	s := natstest.StartOn(t, port, store)
	up := time.Now()
	select {
	case <-ready:
		t.Logf("ready %s after NATS came up", time.Since(up).Round(time.Millisecond))
	case <-time.After(ConnectMaxWait + 5*time.Second):
		t.Fatal("not ready after NATS came up")
	}

	// A NATS restart: the service logs and counts both ends of it.
	s.Shutdown()
	s.WaitForShutdown()
	eventually(t, 10*time.Second, "disconnect counted", func() bool { return connEventCount(t, reg, bus.ConnDisconnected) == 1 })
	natstest.StartOn(t, port, store)
	back := time.Now()
	eventually(t, 10*time.Second, "reconnect counted", func() bool { return connEventCount(t, reg, bus.ConnReconnected) == 1 })
	t.Logf("reconnected %s after NATS was back", time.Since(back).Round(time.Millisecond))
	for _, line := range []string{"NATS disconnected; reconnecting", "NATS reconnected"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("%q not logged: %s", line, logs)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Run ended at the NATS restart: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// TestRunStoppedWhileWaiting: a service stopped before NATS ever came ends
// cleanly, and one whose bus settings cannot work fails at once instead of
// waiting.
func TestRunStoppedWhileWaiting(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.DiscardHandler)
	away := bus.DefaultConfig()
	away.URL = fmt.Sprintf("nats://127.0.0.1:%d", natstest.FreePort(t))
	bad := away
	bad.AckWait = time.Millisecond
	cases := []struct {
		name    string
		cfg     bus.Config
		wantErr string
	}{
		{name: "stopped while waiting", cfg: away},
		{name: "bad bus settings are not retried", cfg: bad, wantErr: "ack wait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := Run(ctx, Spec{Name: "demo", Bus: tc.cfg, Logger: quiet, Wire: func(context.Context, *Wiring) error { return nil }})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Run = %v, want nil once stopped", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Run = %v, want %q", err, tc.wantErr)
			case tc.wantErr != "" && time.Since(start) > time.Second:
				t.Errorf("a bad setting took %s to fail: it was retried", time.Since(start))
			}
		})
	}
}
