package devstack

import (
	"net"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
)

// pipeProvider stands in for the embedded server; compose only passes it on.
type pipeProvider struct{}

func (pipeProvider) InProcessConn() (net.Conn, error) { c, _ := net.Pipe(); return c, nil }

// With the embedded server every service connects over the in-process pipe
// (no loopback socket per message); with a server named by NATS_URL none
// does, and the services' own connect options are kept in both cases.
func TestEmbeddedServerIsReachedInProcess(t *testing.T) {
	own := nats.PingInterval(42)
	for _, tc := range []struct {
		name     string
		embedded nats.InProcessConnProvider
	}{
		{"embedded", pipeProvider{}},
		{"NATS_URL", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{}.withDefaults()
			cfg.Services.Manager.Bus.Options = []nats.Option{own}
			tokens, err := cfg.tokens("dev-token-for-the-in-process-test")
			if err != nil {
				t.Fatal(err)
			}
			s := cfg.compose("nats://127.0.0.1:1", tc.embedded, prometheus.NewRegistry(), tokens)
			for _, f := range busField(func(b bus.Config) any { return b }) {
				var o nats.Options
				for _, opt := range f.get(s).(bus.Config).Options {
					if err := opt(&o); err != nil {
						t.Fatal(err)
					}
				}
				if o.InProcessServer != tc.embedded {
					t.Errorf("%s connects in-process to %v, want %v", f.service, o.InProcessServer, tc.embedded)
				}
				if f.service == "manager" && o.PingInterval != 42 {
					t.Errorf("manager lost its own connect option: ping interval %v", o.PingInterval)
				}
			}
		})
	}
}
