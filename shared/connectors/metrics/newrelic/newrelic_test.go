package newrelic

import (
	"context"
	"errors"
	"maps"
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

func newTestConnector(t *testing.T, f *fake, key string, account int) *Connector {
	t.Helper()
	srv := startFake(t, f)
	cfg := map[string]any{"url": srv.URL, "accountId": float64(account), "timeout": float64(10)}
	if err := Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	in := connectors.Instance{
		Integration: contracts.Integration{ID: "int-1", TenantID: "tenant-1", TypeID: ProviderID, Config: maps.Clone(cfg), CredentialRef: "env://NR_KEY"},
		Credentials: testsvc.EnvCredentials(map[string]string{"NR_KEY": key}),
		HTTP:        connectortest.HTTP(t, cfg, nil),
	}
	conn, err := Spec.New(context.Background(), in)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := conn.(*Connector)
	c.now = func() time.Time { return metricstest.T0 }
	return c
}

func sharedData() []fakeSeries {
	var out []fakeSeries
	for _, s := range metricstest.Data() {
		fs := fakeSeries{Metric: metricstest.Metric, Attributes: s.Labels}
		for _, p := range s.Points {
			fs.Points = append(fs.Points, [2]float64{float64(p.Time.UnixMilli()), p.Value})
		}
		out = append(out, fs)
	}
	return out
}

// TestSameDataSameSeries feeds the shared data set to the fake and asks
// each shared question in NRQL: the answers are the series every metrics
// provider gives for that data.
func TestSameDataSameSeries(t *testing.T) {
	t.Parallel()
	f := &fake{key: testKey, account: testAccount, series: sharedData()}
	c := newTestConnector(t, f, testKey, testAccount)
	for _, tc := range metricstest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			text := "SELECT average(" + metricstest.Metric + ") FROM Metric WHERE service = 'checkout'"
			if tc.ByVersion {
				text += " FACET version"
			}
			res, err := c.Query(context.Background(), tc.Query(text))
			if err != nil {
				t.Fatal(err)
			}
			metricstest.Check(t, res, tc.Want)
		})
	}
	f.mu.Lock()
	sent := f.nrqls[len(f.nrqls)-1]
	f.mu.Unlock()
	if !strings.HasSuffix(sent, " SINCE 1772445420000 UNTIL 1772445600001 TIMESERIES 60 seconds") {
		t.Fatalf("last NRQL sent: %q", sent)
	}
}

// TestErrors: a syntax error is a bad query, another account
// PERMISSION_DENIED, a wrong key AUTHENTICATION_FAILED, and each region has
// its NerdGraph host.
func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("syntax error", func(t *testing.T) {
		c := newTestConnector(t, &fake{key: testKey, account: testAccount}, testKey, testAccount)
		if _, err := c.Query(ctx, contracts.MetricsQuery{Query: "SELEKT average(x) FROM Metric"}); !errors.Is(err, connectors.ErrBadQuery) {
			t.Fatalf("Query: %v, want a bad query", err)
		}
	})
	t.Run("another account", func(t *testing.T) {
		c := newTestConnector(t, &fake{key: testKey, account: testAccount}, testKey, 7654321)
		if err := c.CheckFunctionality(ctx); resilience.CodeOf(err) != resilience.PermissionDenied {
			t.Fatalf("functionality in another account: %v", err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		c := newTestConnector(t, &fake{key: testKey, account: testAccount}, "NRAK-WRONG", testAccount)
		if err := c.CheckAuthentication(ctx); resilience.CodeOf(err) != resilience.AuthenticationFailed {
			t.Fatalf("authentication with a wrong key: %v", err)
		}
	})
	for region, want := range map[string]string{"US": "https://api.newrelic.com", "EU": "https://api.eu.newrelic.com", "JP": "https://api.jp.newrelic.com"} {
		t.Run("region "+region, func(t *testing.T) {
			if u, err := BaseURL(region, ""); err != nil || u.String() != want {
				t.Fatalf("BaseURL(%s) = %v, %v; want %s", region, u, err, want)
			}
		})
	}
}
