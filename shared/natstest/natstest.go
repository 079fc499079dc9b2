// Package natstest starts an embedded nats-server with JetStream for tests,
// as nats-server's own tests do: one per test (or package), a random port and
// a temporary store, never a shared global server.
package natstest

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
)

// Start runs a JetStream server for the life of t.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return StartOn(t, -1, t.TempDir())
}

// StartOn runs a JetStream server on port (-1: a random one) with its
// store in dir, shut down when t ends: a test that restarts NATS shuts one
// down and starts another on the same port and store.
func StartOn(t testing.TB, port int, dir string) *server.Server {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
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

// FreePort returns a loopback port nothing listens on now: where a test
// points a service before its NATS server is there.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
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

// Connect opens a plain client connection to s (closed when t ends) and its
// JetStream context: what a test uses to look at streams and buckets beside
// the service under test.
func Connect(t testing.TB, s *server.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return ConnectURL(t, s.ClientURL())
}

// ConnectURL is Connect to a server known by its URL (a hub a test started
// elsewhere, such as a devstack).
func ConnectURL(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}
