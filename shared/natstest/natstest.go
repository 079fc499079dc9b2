// Package natstest starts an embedded nats-server with JetStream for tests,
// as nats-server's own tests do: one per test (or package), a random port and
// a temporary store, never a shared global server.
package natstest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/stella-ops/inthub/shared/bus"
)

// Start runs a JetStream server for the life of t.
func Start(t testing.TB) *server.Server {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Config returns a bus config for s with test-friendly delays.
func Config(s *server.Server, name string) bus.Config {
	c := bus.DefaultConfig()
	c.URL = s.ClientURL()
	c.Name = name
	c.RedeliveryDelay = 10 * time.Millisecond
	c.MaxRedeliveryDelay = 50 * time.Millisecond
	c.AckWait = 5 * time.Second
	c.HandlerTimeout = 4 * time.Second
	return c
}

// Open opens a bus on s, closed when t ends.
func Open(t testing.TB, s *server.Server, name string) *bus.Bus {
	t.Helper()
	return OpenConfig(t, Config(s, name))
}

// OpenConfig opens a bus with cfg, closed when t ends.
func OpenConfig(t testing.TB, cfg bus.Config) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}
