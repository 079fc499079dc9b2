// Package metricstest is the data set every metrics provider's test feeds
// its fake, and the normalized series each must answer for it: the same
// data gives the same series from every provider, whatever its query
// language.
package metricstest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// T0 is the time of the last point of the data set (a whole minute).
var T0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Metric is the data set's metric name.
const Metric = "canary.success_ratio"

// Series is one stored series of the data set.
type Series struct {
	Labels map[string]string
	// Points are one a minute, the last at T0.
	Points []Point
}

// Point is one stored value.
type Point struct {
	Time  time.Time
	Value float64
}

// Data is the success ratio of two versions of a service, one point a
// minute for ten minutes; v2 dips to 0.5 at T0. A third series of another
// service is never asked for.
func Data() []Series {
	series := []Series{
		{Labels: map[string]string{"service": "checkout", "version": "v1", "env": "prod"}},
		{Labels: map[string]string{"service": "checkout", "version": "v2", "env": "prod"}},
		{Labels: map[string]string{"service": "cart", "version": "v1", "env": "prod"}},
	}
	for i := range 10 {
		at := T0.Add(time.Duration(i-9) * time.Minute)
		v2 := 0.98
		if i == 9 {
			v2 = 0.5
		}
		series[0].Points = append(series[0].Points, Point{at, 0.99})
		series[1].Points = append(series[1].Points, Point{at, v2})
		series[2].Points = append(series[2].Points, Point{at, 0.7})
	}
	return series
}

// OpenMetrics is the data set as OpenMetrics text, one gauge family named
// name (Prometheus before 3.0 takes no dot in a metric name), samples with
// timestamps in seconds: what `promtool tsdb create-blocks-from openmetrics`
// backfills into a real Prometheus.
func OpenMetrics(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE %s gauge\n", name)
	for _, s := range Data() {
		pairs := make([]string, 0, len(s.Labels))
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			pairs = append(pairs, fmt.Sprintf("%s=%q", k, s.Labels[k]))
		}
		for _, p := range s.Points {
			fmt.Fprintf(&b, "%s{%s} %g %d\n", name, strings.Join(pairs, ","), p.Value, p.Time.Unix())
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// Case is one question asked of every provider, in words its test
// translates to the provider's language.
type Case struct {
	Name string
	// ByVersion: the checkout service's ratio per version (else averaged
	// over the checkout service).
	ByVersion bool
	// Range: the last Minutes minutes up to T0 at one point a minute (else
	// an instant query at T0).
	Range   bool
	Minutes int
	Want    []contracts.MetricSeries
}

func point(at time.Time, v float64) contracts.MetricPoint {
	return contracts.MetricPoint{Time: at, Value: &v}
}

// Cases are the questions and the one answer every provider must give.
func Cases() []Case {
	var v1, v2, avg []contracts.MetricPoint
	for i := 3; i >= 0; i-- {
		at := T0.Add(-time.Duration(i) * time.Minute)
		v1 = append(v1, point(at, 0.99))
		v := 0.98
		if i == 0 {
			v = 0.5
		}
		v2 = append(v2, point(at, v))
		avg = append(avg, point(at, (0.99+v)/2))
	}
	return []Case{
		{Name: "instant by version", ByVersion: true, Want: []contracts.MetricSeries{
			{Labels: map[string]string{"version": "v1"}, Points: []contracts.MetricPoint{point(T0, 0.99)}},
			{Labels: map[string]string{"version": "v2"}, Points: []contracts.MetricPoint{point(T0, 0.5)}},
		}},
		{Name: "instant averaged", Want: []contracts.MetricSeries{
			{Labels: map[string]string{}, Points: []contracts.MetricPoint{point(T0, 0.745)}},
		}},
		{Name: "range by version", ByVersion: true, Range: true, Minutes: 3, Want: []contracts.MetricSeries{
			{Labels: map[string]string{"version": "v1"}, Points: v1},
			{Labels: map[string]string{"version": "v2"}, Points: v2},
		}},
		{Name: "range averaged", Range: true, Minutes: 3, Want: []contracts.MetricSeries{
			{Labels: map[string]string{}, Points: avg},
		}},
	}
}

// Query is the contract query of a case with the provider's text.
func (c Case) Query(text string) contracts.MetricsQuery {
	q := contracts.MetricsQuery{Query: text}
	if c.Range {
		start, end := T0.Add(-time.Duration(c.Minutes)*time.Minute), T0
		q.Start, q.End, q.StepSeconds = &start, &end, 60
	} else {
		at := T0
		q.Time = &at
	}
	return q
}

// Check fails t unless got holds exactly the series of want, in any
// order, with the same labels, times and values (units are not compared:
// not every provider gives one).
func Check(t testing.TB, got contracts.MetricsResult, want []contracts.MetricSeries) {
	t.Helper()
	if render(got.Series) != render(want) {
		t.Fatalf("series:\n%s\nwant:\n%s", render(got.Series), render(want))
	}
}

// render writes series in a canonical order for comparison.
func render(series []contracts.MetricSeries) string {
	lines := make([]string, 0, len(series))
	for _, s := range series {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			fmt.Fprintf(&b, "%s=%q ", k, s.Labels[k])
		}
		b.WriteString("|")
		for _, p := range s.Points {
			v := "none"
			if p.Value != nil {
				v = fmt.Sprintf("%.6g", *p.Value)
			}
			fmt.Fprintf(&b, " %s:%s", p.Time.UTC().Format(time.RFC3339), v)
		}
		lines = append(lines, b.String())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
