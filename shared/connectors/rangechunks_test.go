package connectors

import (
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// TestSplitRange: every point of the step grid is in exactly one chunk, no
// chunk holds more than its limit, and none of a longer range is a lone
// point.
func TestSplitRange(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		points    int // points of the range
		step      time.Duration
		max, want int // points a chunk; chunks wanted
	}{
		{"fits", 10, time.Minute, 366, 1},
		{"exactly one chunk", 366, time.Minute, 366, 1},
		{"one point more", 367, time.Minute, 366, 2},
		{"a day at 1m, 366 a chunk", 1441, time.Minute, 366, 4},
		{"three days at 1m, 1500 a chunk", 4321, time.Minute, 1500, 3},
		{"one point", 1, time.Second, 1500, 1},
		{"a lone point past a full chunk", 1501, time.Minute, 1500, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end := t0.Add(time.Duration(tc.points-1) * tc.step)
			chunks := SplitRange(t0, end, tc.step, tc.max)
			if len(chunks) != tc.want {
				t.Fatalf("%d chunks, want %d: %v", len(chunks), tc.want, chunks)
			}
			next := t0
			for i, c := range chunks {
				if !c.Start.Equal(next) || c.Points(tc.step) > tc.max || c.End.Before(c.Start) || tc.points > 1 && c.Points(tc.step) < 2 {
					t.Fatalf("chunk %d = %v (%d points), want it to start at %s with at most %d", i, c, c.Points(tc.step), next, tc.max)
				}
				next = c.End.Add(tc.step)
			}
			if !chunks[len(chunks)-1].End.Equal(end) {
				t.Fatalf("the last chunk ends %s, want %s", chunks[len(chunks)-1].End, end)
			}
		})
	}
}

// TestMergeSeries: the chunks' series become one each, points in order,
// an edge answered twice kept once, a series only in a later chunk kept.
func TestMergeSeries(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	pts := func(from, to int) []contracts.MetricPoint {
		var out []contracts.MetricPoint
		for i := from; i <= to; i++ {
			v := float64(i)
			out = append(out, contracts.MetricPoint{Time: t0.Add(time.Duration(i) * time.Minute), Value: &v})
		}
		return out
	}
	a := map[string]string{"version": "v1"}
	b := map[string]string{"version": "v2"}
	got := MergeSeries(
		[]contracts.MetricSeries{{Labels: a, Unit: "percent", Points: pts(0, 4)}},
		[]contracts.MetricSeries{{Labels: b, Points: pts(5, 6)}, {Labels: map[string]string{"version": "v1"}, Unit: "percent", Points: pts(4, 9)}},
	)
	if len(got) != 2 || got[0].Labels["version"] != "v1" || got[1].Labels["version"] != "v2" {
		t.Fatalf("merged series: %+v", got)
	}
	if len(got[0].Points) != 10 {
		t.Fatalf("%d points, want 10 (0..9, the edge at 4 once)", len(got[0].Points))
	}
	for i, p := range got[0].Points {
		if !p.Time.Equal(t0.Add(time.Duration(i)*time.Minute)) || *p.Value != float64(i) {
			t.Fatalf("point %d = %v at %s", i, *p.Value, p.Time)
		}
	}
	if len(got[1].Points) != 2 {
		t.Fatalf("v2 points: %+v", got[1].Points)
	}
}

// TestMergeSeriesKeepsTwins: two series of one answer with the same labels
// (two queries in one) stay two across chunks.
func TestMergeSeriesKeepsTwins(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	one, two := 1.0, 2.0
	chunk := func(at time.Time) []contracts.MetricSeries {
		return []contracts.MetricSeries{
			{Labels: map[string]string{}, Points: []contracts.MetricPoint{{Time: at, Value: &one}}},
			{Labels: map[string]string{}, Points: []contracts.MetricPoint{{Time: at, Value: &two}}},
		}
	}
	got := MergeSeries(chunk(t0), chunk(t0.Add(time.Minute)))
	if len(got) != 2 || len(got[0].Points) != 2 || len(got[1].Points) != 2 || *got[0].Points[1].Value != 1 || *got[1].Points[1].Value != 2 {
		t.Fatalf("merged: %+v", got)
	}
}
