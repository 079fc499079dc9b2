package connectors

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// RangeChunk is one call's share of a range query: the points at Start,
// Start+step, ... up to End, both ends included.
type RangeChunk struct {
	Start, End time.Time
}

// Points is how many points of step the chunk holds.
func (c RangeChunk) Points(step time.Duration) int { return int(c.End.Sub(c.Start)/step) + 1 }

// SplitRange cuts [start, end] into consecutive chunks of at most
// maxPoints points of step each, on start's step grid, for providers that
// cap the points one call answers (Datadog, New Relic): no point of the grid
// is in two chunks, none is in none. A range that fits is one chunk; a
// longer one is cut into chunks of even size, so no chunk is a lone point
// (a provider may refuse a time frame that starts where it ends).
func SplitRange(start, end time.Time, step time.Duration, maxPoints int) []RangeChunk {
	if step <= 0 || maxPoints < 1 || end.Before(start) {
		return []RangeChunk{{start, end}}
	}
	points := int(end.Sub(start)/step) + 1
	n := (points + maxPoints - 1) / maxPoints
	per := (points + n - 1) / n
	var chunks []RangeChunk
	for s := start; !s.After(end); s = s.Add(time.Duration(per) * step) {
		e := s.Add(time.Duration(per-1) * step)
		if e.After(end) {
			e = end
		}
		chunks = append(chunks, RangeChunk{s, e})
	}
	return chunks
}

// MergeSeries joins the answers of consecutive chunks, oldest first, into
// one answer: a series (the same labels and unit) found in several chunks is
// one series whose points follow on in time; a point at or before the
// series' last one (a chunk's edge answered twice) is dropped. Series an
// answer holds twice with the same labels (Datadog's answer to two queries
// in one, say) stay two: the n-th of a chunk continues the n-th of the
// chunk before. Series keep the order they first appear in.
func MergeSeries(parts ...[]contracts.MetricSeries) []contracts.MetricSeries {
	out := []contracts.MetricSeries{}
	index := map[string]int{}
	for _, part := range parts {
		seen := map[string]int{}
		for _, s := range part {
			key := seriesKey(s)
			seen[key]++
			key += "\x02" + strconv.Itoa(seen[key])
			i, ok := index[key]
			if !ok {
				index[key] = len(out)
				out = append(out, contracts.MetricSeries{Labels: s.Labels, Unit: s.Unit, Points: slices.Clone(s.Points)})
				continue
			}
			for _, p := range s.Points {
				pts := out[i].Points
				if len(pts) > 0 && !p.Time.After(pts[len(pts)-1].Time) {
					continue
				}
				out[i].Points = append(pts, p)
			}
		}
	}
	return out
}

// seriesKey names a series by its unit and sorted labels.
func seriesKey(s contracts.MetricSeries) string {
	var b strings.Builder
	b.WriteString(s.Unit)
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		b.WriteString("\x00" + k + "\x01" + s.Labels[k])
	}
	return b.String()
}
