package newrelic

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/metrics/metricstest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newTestConnector(t *testing.T, f *fake, key string, account int) *Connector {
	t.Helper()
	srv := startFake(t, f)
	conn := metricstest.Connect(t, Spec, map[string]any{"url": srv.URL, "accountId": float64(account), "timeout": float64(10)}, "NR_KEY", key)
	c := conn.(*Connector)
	c.now = func() time.Time { return metricstest.T0 }
	return c
}

func sharedData() []fakeSeries {
	var out []fakeSeries
	for _, s := range metricstest.Data() {
		out = append(out, fakeSeries{Metric: metricstest.Metric, Attributes: s.Labels, Points: metricstest.MilliPoints(s)})
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
	t.Run("no data is an empty result, not an error", func(t *testing.T) {
		c := newTestConnector(t, &fake{key: testKey, account: testAccount, series: sharedData()}, testKey, testAccount)
		res, err := c.Query(ctx, contracts.MetricsQuery{Query: "SELECT average(canary.success_ratio) FROM Metric WHERE service = 'search' FACET version"})
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("Query = %+v, %v; want no series and no error", res, err)
		}
	})
	t.Run("rate limited with Retry-After", func(t *testing.T) {
		f := &fake{key: testKey, account: testAccount, limited: true}
		c := newTestConnector(t, f, testKey, testAccount)
		_, err := c.Query(ctx, contracts.MetricsQuery{Query: "SELECT average(x) FROM Metric"})
		if resilience.CodeOf(err) != resilience.RateLimited || resilience.RetryAfterOf(err) != connectortest.RetryAfterSeconds*time.Second {
			t.Fatalf("Query: %v (retry after %s)", err, resilience.RetryAfterOf(err))
		}
	})
	t.Run("over NerdGraph's concurrency limit", func(t *testing.T) {
		f := &fake{key: testKey, account: testAccount, series: sharedData(), maxConcurrent: 1, hold: make(chan struct{})}
		c := newTestConnector(t, f, testKey, testAccount)
		q := contracts.MetricsQuery{Query: "SELECT average(canary.success_ratio) FROM Metric FACET version"}
		first := make(chan error, 1)
		go func() { _, err := c.Query(ctx, q); first <- err }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			f.mu.Lock()
			n := f.inFlight
			f.mu.Unlock()
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the first query never reached the fake")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := c.Query(ctx, q); resilience.CodeOf(err) != resilience.RateLimited {
			t.Fatalf("a second query in flight: %v, want RATE_LIMITED", err)
		}
		close(f.hold)
		if err := <-first; err != nil {
			t.Fatalf("the first query: %v", err)
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
	// Each region's connector posts to that region's NerdGraph endpoint.
	for region, want := range map[string]string{"US": "https://api.newrelic.com/graphql", "EU": "https://api.eu.newrelic.com/graphql", "JP": "https://api.jp.newrelic.com/graphql"} {
		t.Run("region "+region, func(t *testing.T) {
			cfg := map[string]any{"accountId": float64(testAccount), "region": region}
			if err := Spec.ValidateConfig(cfg); err != nil {
				t.Fatalf("region %s refused: %v", region, err)
			}
			conn, err := Spec.New(ctx, connectors.Instance{
				Integration: contracts.Integration{ID: "int-1", TenantID: "tenant-1", TypeID: ProviderID, Config: cfg, CredentialRef: "env://NR_KEY"},
				HTTP:        connectortest.HTTP(t, cfg, nil),
			})
			if err != nil || conn.(*Connector).endpoint != want {
				t.Fatalf("New for region %s: %v, %v; want it to post to %s", region, conn, err, want)
			}
		})
	}
	if err := Spec.ValidateConfig(map[string]any{"accountId": float64(testAccount), "region": "AU"}); err == nil {
		t.Fatal("an unknown region was accepted")
	}
}

// TestLongRangeIsChunked asks a day at one point a minute (1,441 buckets):
// NRQL refuses more than 366 TIMESERIES buckets, which the fake does too
// (checked first), so the connector asks four consecutive chunks and
// merges them: every minute once, in order, with its own value.
func TestLongRangeIsChunked(t *testing.T) {
	t.Parallel()
	const minutes = 24 * 60
	t0 := metricstest.T0
	var series []fakeSeries
	for _, version := range []string{"v1", "v2"} {
		s := fakeSeries{Metric: "canary.success_ratio", Attributes: map[string]string{"service": "checkout", "version": version}}
		s.Points = metricstest.MinutePoints(version, minutes)
		series = append(series, s)
	}
	f := &fake{key: testKey, account: testAccount, series: series}
	c := newTestConnector(t, f, testKey, testAccount)
	start := t0.Add(-minutes * time.Minute)
	text := "SELECT average(canary.success_ratio) FROM Metric WHERE service = 'checkout' FACET version"

	// One query for the whole day is refused, as New Relic refuses it.
	whole := fmt.Sprintf("%s SINCE %d UNTIL %d TIMESERIES 60 seconds", text, start.UnixMilli(), t0.UnixMilli()+1)
	if _, err := c.Query(context.Background(), contracts.MetricsQuery{Query: whole}); !errors.Is(err, connectors.ErrBadQuery) || !strings.Contains(err.Error(), "366") {
		t.Fatalf("one query of 1,441 buckets: %v, want the 366-bucket refusal", err)
	}

	f.mu.Lock()
	f.nrqls = nil
	f.mu.Unlock()
	res, err := c.Query(context.Background(), contracts.MetricsQuery{Query: text, Start: &start, End: &t0, StepSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	metricstest.CheckMinutes(t, res, start, minutes)
	f.mu.Lock()
	sent := f.nrqls
	f.mu.Unlock()
	if len(sent) != 4 {
		t.Fatalf("%d NRQL queries, want 4 chunks of at most %d buckets: %q", len(sent), maxBuckets, sent)
	}
}
