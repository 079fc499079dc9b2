package main

import (
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"
)

// Stages of one round trip that -stages stamps (unix nanoseconds; 0 = not
// recorded): the command published, the handler started, the handler about
// to publish its event, the event stored (the stream's own timestamp), the
// handler back from that publish, the event received.
const (
	stSent = iota
	stHandlerStart
	stHandlerPub
	stEvStored
	stHandlerEnd
	stReceived
	nStages
)

// stageSegments are the spans reported, each from one stage to another.
var stageSegments = []struct {
	name     string
	from, to int
}{
	{"command publish -> handler start", stSent, stHandlerStart},
	{"handler start -> event publish", stHandlerStart, stHandlerPub},
	{"event publish -> event stored", stHandlerPub, stEvStored},
	{"event stored -> handler has its ack", stEvStored, stHandlerEnd},
	{"event stored -> event received", stEvStored, stReceived},
}

// stageLog holds the stamps of one phase's messages, by request index.
type stageLog struct {
	t     [][nStages]atomic.Int64
	start time.Time
}

// stages is the stage log of the running phase, nil when none is kept; the
// handler and the consumer callback read it.
var stages atomic.Pointer[stageLog]

func newStageLog(n int) *stageLog {
	return &stageLog{t: make([][nStages]atomic.Int64, n), start: time.Now()}
}

func (s *stageLog) mark(i, st int, t int64) {
	if s == nil || i < 0 || i >= len(s.t) {
		return
	}
	s.t[i][st].Store(t)
}

// gcEvent is the end of one collection's pauses and their length.
type gcEvent struct {
	end   time.Time
	pause time.Duration
}

// report prints, for all messages and for the slowest 1 %, the median, p90
// and mean of each segment, when the slow ones were sent and when the
// collections of the phase ended: whether the tail is one stage's or the
// whole process's, and whether it comes in bursts.
func (s *stageLog) report(w io.Writer, gcs []gcEvent) {
	type rec struct {
		i   int
		lat int64
	}
	var all []rec
	for i := range s.t {
		a, b := s.t[i][stSent].Load(), s.t[i][stReceived].Load()
		if a != 0 && b != 0 {
			all = append(all, rec{i, b - a})
		}
	}
	if len(all) == 0 {
		return
	}
	slices.SortFunc(all, func(x, y rec) int { return int(x.lat - y.lat) })
	cut := all[len(all)*99/100].lat
	idx := make([]int, len(all))
	var slow []int
	for k, r := range all {
		idx[k] = r.i
		if r.lat >= cut {
			slow = append(slow, r.i)
		}
	}
	fmt.Fprintf(w, "stages: %d round trips, p99 %.2f ms, %d at or above it\n", len(all), float64(cut)/1e6, len(slow))
	seg := func(set []int, from, to int) (p50, p90, mean float64) {
		var d []float64
		for _, i := range set {
			a, b := s.t[i][from].Load(), s.t[i][to].Load()
			if a != 0 && b != 0 {
				d = append(d, float64(b-a)/1e6)
			}
		}
		if len(d) == 0 {
			return 0, 0, 0
		}
		slices.Sort(d)
		var sum float64
		for _, x := range d {
			sum += x
		}
		return d[len(d)/2], d[len(d)*9/10], sum / float64(len(d))
	}
	for _, sg := range stageSegments {
		a50, a90, am := seg(idx, sg.from, sg.to)
		s50, s90, sm := seg(slow, sg.from, sg.to)
		fmt.Fprintf(w, "  %-36s all p50 %7.2f p90 %7.2f mean %7.2f | slowest 1%% p50 %7.2f p90 %7.2f mean %7.2f ms\n",
			sg.name, a50, a90, am, s50, s90, sm)
	}
	buckets := map[int64]int{}
	for _, i := range slow {
		buckets[(s.t[i][stSent].Load()-s.start.UnixNano())/50e6]++
	}
	keys := make([]int64, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprint(w, "  slowest 1% sent at (ms since the phase began: count):")
	for _, k := range keys {
		fmt.Fprintf(w, " %d:%d", k*50, buckets[k])
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "  collections ended at (ms since the phase began: pause µs):")
	for _, g := range gcs {
		if off := g.end.Sub(s.start); off >= 0 {
			fmt.Fprintf(w, " %d:%d", off.Milliseconds(), g.pause.Microseconds())
		}
	}
	fmt.Fprintln(w)
}
