package prometheus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/metrics/metricstest"
	"github.com/stella-ops/inthub/shared/contracts"
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
	hc := connectortest.HTTP(t, cfg, nil)
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

	one := func(v float64) []contracts.MetricSeries {
		return []contracts.MetricSeries{{Labels: map[string]string{}, Points: []contracts.MetricPoint{{Value: &v}}}}
	}
	queries := []struct {
		name string
		expr string
		want []contracts.MetricSeries // point times are not compared
		code resilience.Code
		bad  bool // the error is marked connectors.ErrBadQuery
	}{
		{"vector(1)", "vector(1)", one(1), "", false},
		{"scalar", "scalar(vector(2)) * 3", one(6), "", false},
		{"two series", `label_replace(vector(2), "a", "x", "", "") or label_replace(vector(3), "a", "y", "", "")`,
			[]contracts.MetricSeries{
				{Labels: map[string]string{"a": "x"}, Points: []contracts.MetricPoint{{Value: ptr(2.0)}}},
				{Labels: map[string]string{"a": "y"}, Points: []contracts.MetricPoint{{Value: ptr(3.0)}}},
			}, "", false},
		{"NaN is a point without a value", "0/0", []contracts.MetricSeries{{Labels: map[string]string{}, Points: []contracts.MetricPoint{{}}}}, "", false},
		{"no data is an empty result", `up{job="nothing-scrapes-this"}`, []contracts.MetricSeries{}, "", false},
		{"a string", `"text"`, nil, resilience.InvalidConfig, true},
		{"a syntax error", "vector(1) +", nil, resilience.InvalidConfig, true},
		{"empty", "", nil, resilience.InvalidConfig, true},
	}
	for _, tc := range queries {
		t.Run("query "+tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Query(ctxT(t), contracts.MetricsQuery{Query: tc.expr})
			checkCode(t, err, tc.code)
			if errors.Is(err, connectors.ErrBadQuery) != tc.bad {
				t.Fatalf("Query(%q): %v, marked a bad query: %v, want %v", tc.expr, err, !tc.bad, tc.bad)
			}
			if tc.code == "" && !sameSeries(got.Series, tc.want) {
				t.Fatalf("Query(%q) = %+v, want %+v", tc.expr, got.Series, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// sameSeries compares labels and values (not times) of two results.
func sameSeries(a, b []contracts.MetricSeries) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(s contracts.MetricSeries) string { return fmt.Sprint(s.Labels) }
	slices.SortFunc(a, func(x, y contracts.MetricSeries) int { return strings.Compare(key(x), key(y)) })
	for i := range a {
		if !maps.Equal(a[i].Labels, b[i].Labels) || a[i].Unit != b[i].Unit || len(a[i].Points) != len(b[i].Points) {
			return false
		}
		for j, p := range a[i].Points {
			q := b[i].Points[j]
			if (p.Value == nil) != (q.Value == nil) || p.Value != nil && *p.Value != *q.Value {
				return false
			}
		}
	}
	return true
}

// TestRangeQueryOfAScrapedTarget has Prometheus scrape a target whose
// gauge the test sets, then asks an instant and a range query: the values
// come back as one series with the target's labels, points in time order
// at the asked step.
func TestRangeQueryOfAScrapedTarget(t *testing.T) {
	t.Parallel()
	target := testsvc.StartMetricsTarget(t)
	target.Set("canary_success_ratio", 0.97)
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{Targets: []string{target.Addr}, ScrapeInterval: 200 * time.Millisecond})
	c := newConnector(t, prom.URL, "")
	var res contracts.MetricsResult
	deadline := time.Now().Add(20 * time.Second)
	for len(res.Series) == 0 && time.Now().Before(deadline) {
		var err error
		if res, err = c.Query(ctxT(t), contracts.MetricsQuery{Query: "canary_success_ratio"}); err != nil {
			t.Fatalf("instant query: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(res.Series) != 1 || res.Series[0].Labels["job"] != "target" || res.Series[0].Labels["instance"] != target.Addr ||
		*res.Series[0].Points[0].Value != 0.97 {
		t.Fatalf("instant query = %+v, want one series of job target at 0.97", res.Series)
	}
	time.Sleep(time.Second)
	end := time.Now()
	start := end.Add(-time.Second)
	tests := []struct {
		name string
		q    contracts.MetricsQuery
		bad  bool
	}{
		{"range", contracts.MetricsQuery{Query: "canary_success_ratio", Start: &start, End: &end, StepSeconds: 0.25}, false},
		{"end before start", contracts.MetricsQuery{Query: "up", Start: &end, End: &start, StepSeconds: 1}, true},
		{"too many points", contracts.MetricsQuery{Query: "up", Start: ptr(end.Add(-24 * time.Hour)), End: &end, StepSeconds: 1}, true},
		{"no step", contracts.MetricsQuery{Query: "up", Start: &start, End: &end}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Query(ctxT(t), tc.q)
			if tc.bad {
				if !errors.Is(err, connectors.ErrBadQuery) {
					t.Fatalf("Query: %v, want a bad query", err)
				}
				return
			}
			if err != nil || len(got.Series) != 1 {
				t.Fatalf("Query = %+v, %v; want one series", got, err)
			}
			pts := got.Series[0].Points
			if len(pts) != 5 {
				t.Fatalf("%d points, want 5 (1s at 0.25s steps): %+v", len(pts), pts)
			}
			for i, p := range pts {
				if p.Value == nil || *p.Value != 0.97 || i > 0 && p.Time.Sub(pts[i-1].Time) != 250*time.Millisecond {
					t.Fatalf("point %d = %v at %s, want 0.97 every 250ms", i, p.Value, p.Time)
				}
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
			_, err := c.Query(ctxT(t), contracts.MetricsQuery{Query: "vector(1)"})
			checkCode(t, err, ph.want)
		})
	}
}

// TestSameDataSameSeries backfills the shared data set into a real
// Prometheus (promtool tsdb create-blocks-from openmetrics, before it
// starts) and asks each shared question in PromQL: the answers are the
// series every metrics provider gives for that data.
func TestSameDataSameSeries(t *testing.T) {
	t.Parallel()
	name := strings.ReplaceAll(metricstest.Metric, ".", "_")
	prom := testsvc.StartPrometheus(t, testsvc.PrometheusOptions{OpenMetrics: metricstest.OpenMetrics(name)})
	c := newConnector(t, prom.URL, "")
	for _, tc := range metricstest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			text := `avg(` + name + `{service="checkout"})`
			if tc.ByVersion {
				text = `avg by (version) (` + name + `{service="checkout"})`
			}
			res, err := c.Query(ctxT(t), tc.Query(text))
			if err != nil {
				t.Fatal(err)
			}
			metricstest.Check(t, res, tc.Want)
		})
	}
}
