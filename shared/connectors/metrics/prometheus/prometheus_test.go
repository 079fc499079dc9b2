package prometheus

import (
	"context"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const (
	user     = "grafana"
	password = "prom-pass-123"
	credRef  = "env://PROMETHEUS_CREDENTIALS"
)

// newConnector builds the connector as the runtime does: config validated
// against the spec, a guarded client allowing loopback, env credentials
// (secret "" = no credentialRef).
func newConnector(t *testing.T, url, secret string) *Connector {
	t.Helper()
	cfg := map[string]any{"url": url, "timeout": float64(10)}
	if err := Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(Spec, cfg), httpx.GuardPolicy{AllowPrivate: true}, nil))
	if err != nil {
		t.Fatalf("httpx.New: %v", err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	in := connectors.Instance{
		Integration: contracts.Integration{ID: "int-1", TenantID: "tenant-1", TypeID: ProviderID, Config: maps.Clone(cfg)},
		Credentials: testsvc.EnvCredentials(map[string]string{"PROMETHEUS_CREDENTIALS": secret}),
		HTTP:        hc,
	}
	if secret != "" {
		in.Integration.CredentialRef = credRef
	}
	conn, err := Spec.New(context.Background(), in)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn.(*Connector)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkCode fails unless err carries want ("" = no error) and holds no
// secret in its text.
func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("error %v has code %q, want %q", err, got, want)
	}
	if err != nil && (strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "wrong-pass")) {
		t.Fatalf("error text holds a secret: %v", err)
	}
}

func run(t *testing.T, c *Connector, level contracts.CheckType) error {
	switch level {
	case contracts.CheckConnectivity:
		return c.CheckConnectivity(ctxT(t))
	case contracts.CheckAuthentication:
		return c.CheckAuthentication(ctxT(t))
	}
	return c.CheckFunctionality(ctxT(t))
}

func basicSecret(u, p string) string { return `{"username":"` + u + `","password":"` + p + `"}` }

// TestAgainstPrometheus runs the checks and instant queries against a real
// Prometheus without auth.
func TestAgainstPrometheus(t *testing.T) {
	t.Parallel()
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{})
	c := newConnector(t, prom.URL, "")
	for _, level := range contracts.CheckTypes {
		t.Run(string(level), func(t *testing.T) {
			start := time.Now()
			checkCode(t, run(t, c, level), "")
			t.Logf("%s took %s", level, time.Since(start))
		})
	}

	queries := []struct {
		name string
		expr string
		want float64
		code resilience.Code
	}{
		{"vector(1)", "vector(1)", 1, ""},
		{"scalar", "scalar(vector(2)) * 3", 6, ""},
		{"aggregated vector", `sum(label_replace(vector(2), "a", "x", "", "") or label_replace(vector(3), "a", "y", "", ""))`, 5, ""},
		{"NaN survives", "0/0", math.NaN(), ""},
		{"no data", `up{job="nothing-scrapes-this"}`, 0, resilience.ResourceNotFound},
		{"two series", `label_replace(vector(2), "a", "x", "", "") or label_replace(vector(3), "a", "y", "", "")`, 0, resilience.InvalidConfig},
		{"a range vector", `up[5m]`, 0, resilience.InvalidConfig},
		{"a string", `"text"`, 0, resilience.InvalidConfig},
		{"a syntax error", "vector(1) +", 0, resilience.InvalidConfig},
		{"empty", "", 0, resilience.InvalidConfig},
	}
	for _, tc := range queries {
		t.Run("query "+tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Query(ctxT(t), tc.expr)
			checkCode(t, err, tc.code)
			if tc.code == "" && !(got == tc.want || math.IsNaN(tc.want) && math.IsNaN(got)) {
				t.Fatalf("Query(%q) = %v, want %v", tc.expr, got, tc.want)
			}
		})
	}
}

// TestBasicAuthPrometheus runs the checks against a Prometheus whose web
// config requires basic auth.
func TestBasicAuthPrometheus(t *testing.T) {
	t.Parallel()
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{Users: map[string]string{user: password}})
	tests := []struct {
		name   string
		level  contracts.CheckType
		secret string
		want   resilience.Code
	}{
		{"connectivity without credentials", contracts.CheckConnectivity, "", ""},
		{"authentication", contracts.CheckAuthentication, basicSecret(user, password), ""},
		{"authentication as user:password", contracts.CheckAuthentication, user + ":" + password, ""},
		{"authentication with a wrong password", contracts.CheckAuthentication, basicSecret(user, "wrong-pass"), resilience.AuthenticationFailed},
		{"authentication without credentials", contracts.CheckAuthentication, "", resilience.AuthenticationFailed},
		{"authentication with a bearer token", contracts.CheckAuthentication, `{"token":"wrong-pass"}`, resilience.AuthenticationFailed},
		{"functionality", contracts.CheckFunctionality, basicSecret(user, password), ""},
		{"functionality with a wrong password", contracts.CheckFunctionality, basicSecret(user, "wrong-pass"), resilience.AuthenticationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkCode(t, run(t, newConnector(t, prom.URL, tc.secret), tc.level), tc.want)
		})
	}
}

// TestPrometheusOutage stops Prometheus: every level and Query say
// CONNECTION_REFUSED; restarted, all pass again.
func TestPrometheusOutage(t *testing.T) {
	t.Parallel()
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{Users: map[string]string{user: password}})
	c := newConnector(t, prom.URL, basicSecret(user, password))
	phases := []struct {
		name   string
		before func(testing.TB)
		want   resilience.Code
	}{
		{"running", func(testing.TB) {}, ""},
		{"stopped", prom.Stop, resilience.ConnectionRefused},
		{"restarted", prom.Start, ""},
	}
	for _, ph := range phases {
		ph.before(t)
		for _, level := range contracts.CheckTypes {
			t.Run(ph.name+"/"+string(level), func(t *testing.T) { checkCode(t, run(t, c, level), ph.want) })
		}
		t.Run(ph.name+"/query", func(t *testing.T) {
			_, err := c.Query(ctxT(t), "vector(1)")
			checkCode(t, err, ph.want)
		})
	}
}
