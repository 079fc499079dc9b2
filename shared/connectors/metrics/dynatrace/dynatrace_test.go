package dynatrace

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/metrics/metricstest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newTestConnector(t *testing.T, f *fake, token string) *Connector {
	t.Helper()
	srv := startFake(t, f)
	conn := metricstest.Connect(t, Spec, map[string]any{"url": srv.URL + f.prefix, "timeout": float64(10)}, "DT_TOKEN", token)
	c := conn.(*Connector)
	c.now = func() time.Time { return metricstest.T0 }
	return c
}

// sharedData is the shared data set as the fake stores it.
func sharedData() []fakeSeries {
	var out []fakeSeries
	for _, s := range metricstest.Data() {
		out = append(out, fakeSeries{Metric: metricstest.Metric, Dimensions: s.Labels, Points: metricstest.MilliPoints(s)})
	}
	return out
}

// TestSameDataSameSeries feeds the shared data set to the fake, one series
// a page, and asks each shared question as a metric selector: the answers
// are the series every metrics provider gives for that data, the pages
// followed by nextPageKey.
func TestSameDataSameSeries(t *testing.T) {
	t.Parallel()
	f := &fake{token: testToken, series: sharedData(), pageSize: 1}
	c := newTestConnector(t, f, testToken)
	for _, tc := range metricstest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			text := metricstest.Metric + `:filter(eq("service","checkout")):splitBy()`
			if tc.ByVersion {
				text = metricstest.Metric + `:filter(eq("service","checkout")):splitBy("version")`
			}
			res, err := c.Query(context.Background(), tc.Query(text))
			if err != nil {
				t.Fatal(err)
			}
			metricstest.Check(t, res, tc.Want)
		})
	}
	f.mu.Lock()
	pages := f.pages
	f.mu.Unlock()
	if pages != 6 { // two answers of two series (two pages each), two of one
		t.Fatalf("%d query pages served, want 6: nextPageKey not followed", pages)
	}
}

// TestEnvironmentURLs: the connector calls the API under the environment
// URL as given, a SaaS environment's host or a Managed environment's
// /e/<env-id> path; a Managed URL without its environment path is refused
// (Dynatrace's 404), not answered as no data.
func TestEnvironmentURLs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := metricstest.T0
	q := contracts.MetricsQuery{Query: metricstest.Metric + `:filter(eq("service","checkout")):splitBy("version")`, Time: &at}
	for _, prefix := range []string{"", "/e/abc12345"} {
		t.Run("environment path "+prefix, func(t *testing.T) {
			c := newTestConnector(t, &fake{token: testToken, series: sharedData(), prefix: prefix}, testToken)
			res, err := c.Query(ctx, q)
			if err != nil || len(res.Series) != 2 {
				t.Fatalf("Query = %+v, %v; want the two versions", res, err)
			}
			if err := c.CheckAuthentication(ctx); err != nil {
				t.Fatalf("CheckAuthentication: %v", err)
			}
		})
	}
	t.Run("a Managed URL without its environment", func(t *testing.T) {
		c := newTestConnector(t, &fake{token: testToken, series: sharedData(), prefix: "/e/abc12345"}, testToken)
		c.base.Path, c.base.RawPath = "", "" // the domain alone
		if _, err := c.Query(ctx, q); resilience.CodeOf(err) != resilience.ResourceNotFound {
			t.Fatalf("Query: %v, want RESOURCE_NOT_FOUND", err)
		}
	})
}

// TestErrors: a selector the API refuses is a bad query, a token without
// the scope PERMISSION_DENIED, a wrong one AUTHENTICATION_FAILED, and a
// rate limit RATE_LIMITED with the server's delay.
func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := contracts.MetricsQuery{Query: metricstest.Metric}
	t.Run("bad selector", func(t *testing.T) {
		c := newTestConnector(t, &fake{token: testToken, series: sharedData()}, testToken)
		_, err := c.Query(ctx, contracts.MetricsQuery{Query: metricstest.Metric + ":splitBy(version"})
		if !errors.Is(err, connectors.ErrBadQuery) {
			t.Fatalf("Query: %v, want a bad query", err)
		}
	})
	t.Run("no scope", func(t *testing.T) {
		c := newTestConnector(t, &fake{token: testToken, noScope: true}, testToken)
		if _, err := c.Query(ctx, q); resilience.CodeOf(err) != resilience.PermissionDenied {
			t.Fatalf("Query: %v", err)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		c := newTestConnector(t, &fake{token: testToken}, "dt0c01.WRONG")
		if _, err := c.Query(ctx, q); resilience.CodeOf(err) != resilience.AuthenticationFailed {
			t.Fatalf("Query: %v", err)
		}
	})
	t.Run("no data is an empty result, not an error", func(t *testing.T) {
		c := newTestConnector(t, &fake{token: testToken, series: sharedData()}, testToken)
		res, err := c.Query(ctx, contracts.MetricsQuery{Query: metricstest.Metric + `:filter(eq("service","search"))`})
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("Query = %+v, %v; want no series and no error", res, err)
		}
	})
	// Dynatrace answers throttling 429 with Retry-After (seconds) and
	// X-RateLimit-Reset (microseconds since the epoch): either gives the
	// delay.
	for _, tc := range []struct {
		name         string
		noRetryAfter bool
		min          time.Duration
	}{
		{"rate limited: Retry-After", false, connectortest.RetryAfterSeconds * time.Second},
		{"rate limited: X-RateLimit-Reset alone", true, (connectortest.RetryAfterSeconds - 2) * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestConnector(t, &fake{token: testToken, series: sharedData(), limit: 1, noRetryAfter: tc.noRetryAfter}, testToken)
			if _, err := c.Query(ctx, q); err != nil {
				t.Fatal(err)
			}
			_, err := c.Query(ctx, q)
			if d := resilience.RetryAfterOf(err); resilience.CodeOf(err) != resilience.RateLimited || d < tc.min || d > connectortest.RetryAfterSeconds*time.Second {
				t.Fatalf("Query: %v (retry after %s), want RATE_LIMITED after %s to %ds", err, d, tc.min, connectortest.RetryAfterSeconds)
			}
		})
	}
}
