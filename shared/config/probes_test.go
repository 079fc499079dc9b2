package config

import (
	"io"
	"net/http"
	"testing"
)

// TestMetricsListenerProbes: the kubelet's probes on METRICS_ADDR. /healthz
// answers as soon as the process serves, /readyz only once the service
// closed the channel Ready gave it, and not at all for a process that never
// asked (the ingress, whose API port has its own).
func TestMetricsListenerProbes(t *testing.T) {
	t.Parallel()
	get := func(t *testing.T, addr, path string) int {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	start := func(t *testing.T) *Common {
		t.Helper()
		c, err := Process{LogLevel: "error", MetricsAddr: "127.0.0.1:0"}.Start("demo")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}

	t.Run("a service that reports readiness", func(t *testing.T) {
		t.Parallel()
		c := start(t)
		ready := c.Ready()
		for _, tc := range []struct {
			path string
			want int
		}{{"/healthz", 200}, {"/readyz", 503}, {"/metrics", 200}} {
			if got := get(t, c.MetricsListen, tc.path); got != tc.want {
				t.Errorf("before ready: %s = %d, want %d", tc.path, got, tc.want)
			}
		}
		close(ready)
		if got := get(t, c.MetricsListen, "/readyz"); got != 200 {
			t.Errorf("after ready: /readyz = %d, want 200", got)
		}
	})
	t.Run("a process that does not", func(t *testing.T) {
		t.Parallel()
		c := start(t)
		if got := get(t, c.MetricsListen, "/healthz"); got != 200 {
			t.Errorf("/healthz = %d, want 200", got)
		}
		if got := get(t, c.MetricsListen, "/readyz"); got != 404 {
			t.Errorf("/readyz = %d, want 404", got)
		}
	})
	t.Run("no listener without METRICS_ADDR", func(t *testing.T) {
		t.Parallel()
		c, err := Process{LogLevel: "error"}.Start("demo")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.MetricsListen != "" {
			t.Errorf("MetricsListen = %q, want empty", c.MetricsListen)
		}
	})
}
