package datadog

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/metrics/metricstest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// t0 is the fake's clock: every stored point is at or before it.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// canaryData is two versions' success ratio, one point a minute for 10
// minutes; version v2 dips at the last point.
func canaryData() []fakeSeries {
	var v1, v2 [][2]float64
	for i := range 10 {
		ts := float64(t0.Add(time.Duration(i-9) * time.Minute).UnixMilli())
		v1 = append(v1, [2]float64{ts, 0.99})
		v2 = append(v2, [2]float64{ts, map[bool]float64{true: 0.5, false: 0.98}[i == 9]})
	}
	return []fakeSeries{
		{Metric: "canary.success_ratio", Tags: []string{"service:checkout", "version:v1", "env:prod"}, Points: v1, Unit: "percent"},
		{Metric: "canary.success_ratio", Tags: []string{"service:checkout", "version:v2", "env:prod"}, Points: v2, Unit: "percent"},
	}
}

func newTestConnector(t *testing.T, f *fake, secret string, config map[string]any) *Connector {
	t.Helper()
	srv := startFake(t, f)
	cfg := map[string]any{"url": srv.URL, "timeout": float64(10)}
	maps.Copy(cfg, config)
	conn := metricstest.Connect(t, Spec, cfg, "DATADOG_KEYS", secret)
	c := conn.(*Connector)
	c.now = func() time.Time { return t0 }
	return c
}

func TestQuery(t *testing.T) {
	t.Parallel()
	f := &fake{apiKey: testAPIKey, appKey: testAppKey, series: canaryData()}
	c := newTestConnector(t, f, keysSecret(testAPIKey, testAppKey), nil)
	ctx := context.Background()
	start, end := t0.Add(-4*time.Minute), t0
	tests := []struct {
		name   string
		q      contracts.MetricsQuery
		labels []map[string]string
		points int
		last   []float64
		bad    bool
	}{
		{"instant, grouped: the latest point per version", contracts.MetricsQuery{Query: "avg:canary.success_ratio{service:checkout} by {version}"},
			[]map[string]string{{"version": "v1"}, {"version": "v2"}}, 1, []float64{0.99, 0.5}, false},
		{"instant, aggregated", contracts.MetricsQuery{Query: "avg:canary.success_ratio{env:prod}"},
			[]map[string]string{{}}, 1, []float64{0.745}, false},
		{"range of the last 4 minutes", contracts.MetricsQuery{Query: "avg:canary.success_ratio{version:v2} by {version}", Start: &start, End: &end, StepSeconds: 60},
			[]map[string]string{{"version": "v2"}}, 5, []float64{0.5}, false},
		{"no data", contracts.MetricsQuery{Query: "avg:canary.success_ratio{service:cart}"}, nil, 0, nil, false},
		{"a syntax error", contracts.MetricsQuery{Query: "avg:canary.success_ratio{"}, nil, 0, nil, true},
		{"a range of one point", contracts.MetricsQuery{Query: "avg:canary.success_ratio{version:v2} by {version}", Start: &end, End: &end, StepSeconds: 60},
			[]map[string]string{{"version": "v2"}}, 1, []float64{0.5}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Query(ctx, tc.q)
			if tc.bad {
				if !errors.Is(err, connectors.ErrBadQuery) || resilience.CodeOf(err) != resilience.InvalidConfig {
					t.Fatalf("Query: %v, want a bad query", err)
				}
				return
			}
			if err != nil || len(res.Series) != len(tc.labels) {
				t.Fatalf("Query = %+v, %v; want %d series", res, err, len(tc.labels))
			}
			for i, s := range res.Series {
				if !maps.Equal(s.Labels, tc.labels[i]) || len(s.Points) != tc.points || s.Unit != "percent" {
					t.Fatalf("series %d = %+v, want labels %v, %d points, unit percent", i, s, tc.labels[i], tc.points)
				}
				last := s.Points[len(s.Points)-1]
				if last.Value == nil || *last.Value != tc.last[i] || !last.Time.Equal(t0) {
					t.Fatalf("series %d ends %v at %s, want %v at %s", i, last.Value, last.Time, tc.last[i], t0)
				}
			}
		})
	}
	// The range asked is the one sent, in unix seconds; an instant query
	// asks its window.
	f.mu.Lock()
	sent := f.queries
	f.mu.Unlock()
	first, _ := url.ParseQuery(sent[0])
	third, _ := url.ParseQuery(sent[2])
	if first.Get("from") != "1772445300" || first.Get("to") != "1772445600" || third.Get("from") != "1772445360" || third.Get("to") != "1772445600" {
		t.Fatalf("from/to sent: %v and %v", first, third)
	}
}

// TestKeysAndLimits: each call carries the keys it needs, a wrong or
// missing application key is refused on queries, and the fake's own rate
// limit is RATE_LIMITED with its reset as the delay.
func TestKeysAndLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := contracts.MetricsQuery{Query: "avg:canary.success_ratio{*}"}
	t.Run("wrong application key", func(t *testing.T) {
		c := newTestConnector(t, &fake{apiKey: testAPIKey, appKey: testAppKey}, keysSecret(testAPIKey, "wrong-app-key"), nil)
		if err := c.CheckAuthentication(ctx); err != nil {
			t.Fatalf("the API key alone validates: %v", err)
		}
		if _, err := c.Query(ctx, q); resilience.CodeOf(err) != resilience.PermissionDenied {
			t.Fatalf("query with a wrong application key: %v", err)
		}
		if err := c.CheckFunctionality(ctx); resilience.CodeOf(err) != resilience.PermissionDenied {
			t.Fatalf("functionality with a wrong application key: %v", err)
		}
	})
	t.Run("rate limited after the limit", func(t *testing.T) {
		c := newTestConnector(t, &fake{apiKey: testAPIKey, appKey: testAppKey, series: canaryData(), limit: 2, period: 60}, keysSecret(testAPIKey, testAppKey), nil)
		for i := range 2 {
			if _, err := c.Query(ctx, q); err != nil {
				t.Fatalf("query %d: %v", i, err)
			}
		}
		_, err := c.Query(ctx, q)
		if resilience.CodeOf(err) != resilience.RateLimited || resilience.RetryAfterOf(err) != connectortest.RetryAfterSeconds*time.Second {
			t.Fatalf("third query: %v (retry after %s)", err, resilience.RetryAfterOf(err))
		}
	})
}

// TestSites: a connector built for each site calls https://api.<site>
// (the endpoints Datadog's API reference lists per site), url overrides
// it, and an unknown site is refused.
func TestSites(t *testing.T) {
	t.Parallel()
	tests := []struct{ site, url, want string }{
		{"datadoghq.com", "", "https://api.datadoghq.com"},
		{"datadoghq.eu", "", "https://api.datadoghq.eu"},
		{"us3.datadoghq.com", "", "https://api.us3.datadoghq.com"},
		{"us5.datadoghq.com", "", "https://api.us5.datadoghq.com"},
		{"ap1.datadoghq.com", "", "https://api.ap1.datadoghq.com"},
		{"ap2.datadoghq.com", "", "https://api.ap2.datadoghq.com"},
		{"uk1.datadoghq.com", "", "https://api.uk1.datadoghq.com"},
		{"ddog-gov.com", "", "https://api.ddog-gov.com"},
		{"us2.ddog-gov.com", "", "https://api.us2.ddog-gov.com"},
		{"datadoghq.eu", "https://dd-proxy.example.com/datadog", "https://dd-proxy.example.com/datadog"},
	}
	for _, tc := range tests {
		t.Run(tc.site+tc.url, func(t *testing.T) {
			t.Parallel()
			cfg := map[string]any{"site": tc.site}
			if tc.url != "" {
				cfg["url"] = tc.url
			}
			if err := Spec.ValidateConfig(cfg); err != nil {
				t.Fatalf("site %s refused: %v", tc.site, err)
			}
			conn, err := Spec.New(context.Background(), connectors.Instance{
				Integration: contracts.Integration{ID: "int-1", TenantID: "tenant-1", TypeID: ProviderID, Config: cfg, CredentialRef: "env://DATADOG_KEYS"},
				HTTP:        connectortest.HTTP(t, cfg, nil),
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := conn.(*Connector).base.String(); got != tc.want {
				t.Fatalf("the connector calls %s, want %s", got, tc.want)
			}
		})
	}
	if err := Spec.ValidateConfig(map[string]any{"site": "datadoghq.org"}); err == nil {
		t.Fatal("an unknown site was accepted")
	}
}

// TestSameDataSameSeries feeds the shared data set to the fake and asks
// each shared question in Datadog's language: the answers are the series
// every metrics provider gives for that data.
func TestSameDataSameSeries(t *testing.T) {
	t.Parallel()
	var series []fakeSeries
	for _, s := range metricstest.Data() {
		fs := fakeSeries{Metric: metricstest.Metric, Unit: "percent"}
		for k, v := range s.Labels {
			fs.Tags = append(fs.Tags, k+":"+v)
		}
		for _, p := range s.Points {
			fs.Points = append(fs.Points, [2]float64{float64(p.Time.UnixMilli()), p.Value})
		}
		series = append(series, fs)
	}
	c := newTestConnector(t, &fake{apiKey: testAPIKey, appKey: testAppKey, series: series}, keysSecret(testAPIKey, testAppKey), nil)
	for _, tc := range metricstest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			text := "avg:" + metricstest.Metric + "{service:checkout}"
			if tc.ByVersion {
				text += " by {version}"
			}
			res, err := c.Query(context.Background(), tc.Query(text))
			if err != nil {
				t.Fatal(err)
			}
			metricstest.Check(t, res, tc.Want)
		})
	}
}

// TestLongRangeIsChunked asks three days at one point a minute (4,321
// points a series): Datadog answers at most 1,500 points a series and
// coarsens a longer frame, which the fake does too (checked first), so the
// connector asks three consecutive chunks and merges them: every minute
// once, in order, with its own value.
func TestLongRangeIsChunked(t *testing.T) {
	t.Parallel()
	const minutes = 3 * 24 * 60
	var series []fakeSeries
	for _, version := range []string{"v1", "v2"} {
		s := fakeSeries{Metric: "canary.success_ratio", Tags: []string{"service:checkout", "version:" + version}, Unit: "percent"}
		s.Points = metricstest.MinutePoints(version, minutes)
		series = append(series, s)
	}
	f := &fake{apiKey: testAPIKey, appKey: testAppKey, series: series}
	c := newTestConnector(t, f, keysSecret(testAPIKey, testAppKey), nil)
	start := t0.Add(-minutes * time.Minute)
	text := "avg:canary.success_ratio{service:checkout} by {version}"

	// One call for the whole frame comes back coarser than asked.
	var whole queryAnswer
	params := url.Values{"query": {text + ".rollup(avg, 60)"}, "from": {strconv.FormatInt(start.Unix(), 10)}, "to": {strconv.FormatInt(t0.Unix(), 10)}}
	req, _ := http.NewRequest(http.MethodGet, c.base.String()+"/api/v1/query?"+params.Encode(), nil)
	req.Header.Set("DD-API-KEY", testAPIKey)
	req.Header.Set("DD-APPLICATION-KEY", testAppKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&whole)
	resp.Body.Close()
	if len(whole.Series) != 2 || len(whole.Series[0].Pointlist) > maxPointsPerSeries {
		t.Fatalf("one call for three days answered %d series, the first of %d points: the fake must cap a series at %d", len(whole.Series), len(whole.Series[0].Pointlist), maxPointsPerSeries)
	}

	f.mu.Lock()
	f.queries = nil
	f.mu.Unlock()
	res, err := c.Query(context.Background(), contracts.MetricsQuery{Query: text, Start: &start, End: &t0, StepSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	metricstest.CheckMinutes(t, res, start, minutes)
	f.mu.Lock()
	sent := f.queries
	f.mu.Unlock()
	if len(sent) != 3 {
		t.Fatalf("%d calls, want 3 chunks of at most %d points", len(sent), maxPointsPerSeries)
	}
	for _, raw := range sent {
		q, _ := url.ParseQuery(raw)
		from, _ := strconv.ParseInt(q.Get("from"), 10, 64)
		to, _ := strconv.ParseInt(q.Get("to"), 10, 64)
		if (to-from)/60+1 > maxPointsPerSeries || q.Get("query") != text+".rollup(avg, 60)" {
			t.Fatalf("chunk sent: %v", q)
		}
	}
}
