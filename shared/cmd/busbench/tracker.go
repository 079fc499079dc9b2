package main

import (
	"context"
	"math"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// phaseResult is what one phase measured.
type phaseResult struct {
	Name       string  `json:"name"`
	Sent       int     `json:"sent"`
	Received   int     `json:"received"`
	Duplicates int     `json:"duplicates"`
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgsPerSec"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
	MaxMs      float64 `json:"maxMs"`
	// CPUPerMsgUs is the process's CPU time (client and embedded server)
	// per message received: a cost that other load on the machine does
	// not inflate the way it does wall-clock throughput.
	CPUPerMsgUs float64 `json:"cpuPerMsgUs"`
	// AllocsPerMsg and BytesPerMsg are the process's heap allocations
	// (client and embedded server) per message received: unlike time, the
	// machine's load hardly moves them, so they compare two builds best.
	AllocsPerMsg float64 `json:"allocsPerMsg"`
	BytesPerMsg  float64 `json:"bytesPerMsg"`
	TimedOut     bool    `json:"timedOut"`
}

// tracker follows one phase's n messages from publish to receipt. Its window
// bounds the messages in flight so a phase measures a steady state rather
// than a backlog draining.
type tracker struct {
	n      int
	window chan struct{} // nil: unbounded
	sentAt []atomic.Int64
	sent   atomic.Int64
	start  time.Time
	cpu0   time.Duration
	heap0  heapAllocs
	done   chan struct{}

	mu       sync.Mutex
	seen     []bool
	latency  []time.Duration
	dups     int
	lastSeen time.Time
}

func newTracker(n, inflight int) *tracker {
	t := &tracker{
		n:       n,
		sentAt:  make([]atomic.Int64, n),
		done:    make(chan struct{}),
		seen:    make([]bool, n),
		latency: make([]time.Duration, 0, n),
	}
	if inflight > 0 {
		t.window = make(chan struct{}, inflight)
	}
	return t
}

// begin starts the clock; call it just before the first publish.
func (t *tracker) begin() { t.start, t.cpu0, t.heap0 = time.Now(), processCPU(), readHeapAllocs() }

// heapAllocs are the process's cumulative heap allocations.
type heapAllocs struct{ objects, bytes uint64 }

func readHeapAllocs() heapAllocs {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	var h heapAllocs
	if s[0].Value.Kind() == metrics.KindUint64 {
		h.objects = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		h.bytes = s[1].Value.Uint64()
	}
	return h
}

// acquire waits for room in the window, then stamps message i as sent now and
// returns the stamp.
func (t *tracker) acquire(ctx context.Context, i int) (time.Time, error) {
	if t.window != nil {
		select {
		case t.window <- struct{}{}:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
	now := time.Now()
	t.sentAt[i].Store(now.UnixNano())
	t.sent.Add(1)
	return now, nil
}

// sentTime is when message i was stamped by acquire; ok is false for an
// index out of range.
func (t *tracker) sentTime(i int) (sent time.Time, ok bool) {
	if i < 0 || i >= t.n {
		return time.Time{}, false
	}
	return time.Unix(0, t.sentAt[i].Load()), true
}

// receive records message i, stamped at sent, as received now. A message seen
// before (a redelivery) is counted but frees no slot.
func (t *tracker) receive(i int, sent time.Time) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if i < 0 || i >= t.n || t.seen[i] {
		t.dups++
		return
	}
	t.seen[i] = true
	t.latency = append(t.latency, now.Sub(sent))
	t.lastSeen = now
	if t.window != nil {
		<-t.window
	}
	if len(t.latency) == t.n {
		close(t.done)
	}
}

// result summarises the phase: throughput from the first publish to the last
// receipt, and latency percentiles.
func (t *tracker) result(name string, timedOut bool) phaseResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := phaseResult{Name: name, Sent: int(t.sent.Load()), Received: len(t.latency), Duplicates: t.dups, TimedOut: timedOut}
	if r.Received == 0 {
		return r
	}
	elapsed := t.lastSeen.Sub(t.start)
	r.Seconds = elapsed.Seconds()
	r.MsgsPerSec = float64(r.Received) / elapsed.Seconds()
	lat := slices.Clone(t.latency)
	slices.Sort(lat)
	r.P50Ms = ms(percentile(lat, 0.50))
	r.P99Ms = ms(percentile(lat, 0.99))
	r.MaxMs = ms(lat[len(lat)-1])
	r.CPUPerMsgUs = float64((processCPU() - t.cpu0).Microseconds()) / float64(r.Received)
	h := readHeapAllocs()
	r.AllocsPerMsg = float64(h.objects-t.heap0.objects) / float64(r.Received)
	r.BytesPerMsg = float64(h.bytes-t.heap0.bytes) / float64(r.Received)
	return r
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
