package startup

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

func TestProcessExitCodes(t *testing.T) {
	t.Parallel()
	type settings struct{ Port int }
	cases := []struct {
		name    string
		env     map[string]string
		runErr  error
		want    int
		wantErr string
	}{
		{name: "runs and stops", want: ExitOK},
		{name: "a bad setting starts nothing", env: map[string]string{"PORT": "x"}, want: ExitSettings, wantErr: "PORT"},
		{name: "a bad process setting too", env: map[string]string{"LOG_LEVEL": "loud"}, want: ExitSettings, wantErr: "LOG_LEVEL"},
		{name: "a failed service", runErr: errors.New("bus unreachable"), want: ExitFailed, wantErr: "bus unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ran, with := false, false
			p := Process[settings]{
				Name: "demo",
				Load: func(getenv config.Getenv) (settings, error) {
					r := config.NewReader(getenv)
					return settings{Port: r.Int("PORT", 1, 1)}, r.Err()
				},
				With: func(_ *settings, c *config.Common) { with = c.Logger != nil && c.Metrics != nil },
				Run:  func(context.Context, settings) error { ran = true; return tc.runErr },
			}
			var stderr bytes.Buffer
			got := p.run(context.Background(), func(k string) string { return tc.env[k] }, &stderr)
			if got != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tc.want, stderr.String())
			}
			if ran != (tc.want != ExitSettings) || with != ran {
				t.Errorf("ran=%v with=%v for exit %d", ran, with, got)
			}
			if tc.wantErr != "" && (!strings.Contains(stderr.String(), "demo: ") || !strings.Contains(stderr.String(), tc.wantErr)) {
				t.Errorf("stderr %q does not name %q", stderr.String(), tc.wantErr)
			}
		})
	}
}

// TestRun: the same start-up and stop for every service.
func TestRun(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	quiet := slog.New(slog.DiscardHandler)
	bucket := func(replicas int) []jetstream.KeyValueConfig {
		return []jetstream.KeyValueConfig{{Bucket: "startup-test", Replicas: replicas}}
	}

	t.Run("ready after the router and the gates, stopped in reverse", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var steps []string
		step := func(s string) { mu.Lock(); steps = append(steps, s); mu.Unlock() }
		gate := make(chan struct{})
		ready := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Spec{
				Name: "demo", Bus: natstest.Config(s, "demo"), Logger: quiet, Buckets: bucket, Ready: Closer(ready),
				Wire: func(_ context.Context, w *Wiring) error {
					if w.Bucket("startup-test") == nil {
						return errors.New("bucket not ensured")
					}
					w.Routes([]bus.Route{{Name: "demo", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>", Durable: "demo",
						Handler: func(context.Context, *bus.Message, *bus.Producer) error { return nil }}})
					w.Go("gatekeeper", func(ctx context.Context) error {
						time.Sleep(50 * time.Millisecond)
						step("gate")
						close(gate)
						<-ctx.Done()
						step("task stopped")
						return nil
					})
					w.Gate(gate)
					w.Defer(func() { step("first deferred") })
					w.Defer(func() { step("second deferred") })
					return nil
				},
			})
		}()
		select {
		case <-ready:
			step("ready")
		case err := <-done:
			t.Fatalf("Run ended before ready: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil after ctx ends", err)
		}
		want := []string{"gate", "ready", "task stopped", "second deferred", "first deferred"}
		if !slices.Equal(steps, want) {
			t.Errorf("steps %v, want %v", steps, want)
		}
	})

	t.Run("a failing task stops the service with its error", func(t *testing.T) {
		t.Parallel()
		deferred := make(chan struct{})
		err := Run(context.Background(), Spec{
			Name: "demo", Bus: natstest.Config(s, "demo-fail"), Logger: quiet,
			Wire: func(_ context.Context, w *Wiring) error {
				w.Go("watch", func(context.Context) error { return errors.New("bucket gone") })
				w.Gate(make(chan struct{})) // never ready
				w.Defer(func() { close(deferred) })
				return nil
			},
		})
		if err == nil || !strings.Contains(err.Error(), "watch: bucket gone") {
			t.Errorf("Run = %v, want the task's error", err)
		}
		select {
		case <-deferred:
		default:
			t.Error("deferred cleanup not run")
		}
	})

	t.Run("a wiring error is returned", func(t *testing.T) {
		t.Parallel()
		err := Run(context.Background(), Spec{Name: "demo", Bus: natstest.Config(s, "demo-wire"), Logger: quiet,
			Wire: func(context.Context, *Wiring) error { return errors.New("no registry") }})
		if err == nil || err.Error() != "no registry" {
			t.Errorf("Run = %v", err)
		}
	})

	t.Run("endpoints are served once ready", func(t *testing.T) {
		t.Parallel()
		ready := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Spec{Name: "demo", Bus: natstest.Config(s, "demo-ep"), Logger: quiet, Ready: Closer(ready),
				Wire: func(_ context.Context, w *Wiring) error {
					w.Serve(bus.Service{Name: "inthub-demo", Version: "0.0.1", Prefix: "inthub.demo", Routes: []bus.Route{
						bus.ReplyRoute("inthub.demo.ping", bus.Typed(func(context.Context, struct{}) (string, error) { return "pong", nil })),
					}})
					return nil
				}})
		}()
		<-ready
		b := natstest.Open(t, s, "demo-client")
		var got string
		if err := bus.Request(context.Background(), b.Conn(), "demo", "inthub.demo.ping", time.Second, struct{}{}, &got); err != nil || got != "pong" {
			t.Errorf("ping = %q, %v", got, err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}
