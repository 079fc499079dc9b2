package ingress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/natstest"
)

// TestReadyzWaitsForNATS: an ingress started before NATS listens at once,
// says alive on /healthz and not ready on /readyz (and 503 on the API)
// until NATS comes up; then it becomes ready without a restart.
func TestReadyzWaitsForNATS(t *testing.T) {
	t.Parallel()
	port := natstest.FreePort(t)
	tokens, err := NewTokens([]TokenEntry{{Principal: Principal{Name: "t", TenantID: "0193a0b4-0000-7000-8000-00000000000a"}, SHA256: HashToken("x")}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := bus.DefaultConfig()
	cfg.URL, cfg.Name = fmt.Sprintf("nats://127.0.0.1:%d", port), "ingress"
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Listener: ln, Bus: cfg, Tokens: tokens, Logger: slog.New(slog.DiscardHandler), Ready: ready})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", http.StatusOK, `"ok"`},
		{"/readyz", http.StatusServiceUnavailable, "not connected to NATS yet"},
		{"/api/v1/integrations", http.StatusServiceUnavailable, "UNAVAILABLE"},
	}
	for _, tc := range cases {
		t.Run("before NATS "+tc.path, func(t *testing.T) {
			if status, body := get(tc.path); status != tc.status || !strings.Contains(body, tc.body) {
				t.Errorf("GET %s = %d %s, want %d with %q", tc.path, status, body, tc.status, tc.body)
			}
		})
	}

	s := natstest.StartOn(t, port, t.TempDir())
	// The catalog's providers call is what /readyz asks of the manager.
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe(catalog.SubjectProvider, func(m *nats.Msg) { _ = m.Respond([]byte(`{"providers":[]}`)) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("ingress not ready after NATS came up")
	}
	if status, body := get("/readyz"); status != http.StatusOK {
		t.Errorf("GET /readyz with NATS up = %d %s, want 200", status, body)
	}
}
