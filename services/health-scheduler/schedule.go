package healthscheduler

import (
	"container/heap"
	"hash/fnv"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Intervals are the check periods of the three levels.
type Intervals struct {
	Connectivity, Authentication, Functionality time.Duration
}

// DefaultIntervals: connectivity every minute, authentication every 5
// minutes, functionality every 15.
func DefaultIntervals() Intervals {
	return Intervals{Connectivity: time.Minute, Authentication: 5 * time.Minute, Functionality: 15 * time.Minute}
}

// For returns the period of ct for it: the integration's own override (its
// <type>CheckSeconds config field) or the global one.
func (iv Intervals) For(it contracts.Integration, ct contracts.CheckType) time.Duration {
	global := map[contracts.CheckType]time.Duration{
		contracts.CheckConnectivity: iv.Connectivity, contracts.CheckAuthentication: iv.Authentication, contracts.CheckFunctionality: iv.Functionality,
	}[ct]
	if s := connectors.CommonValues(it.Config).Int(string(ct) + "CheckSeconds"); s > 0 {
		return time.Duration(s) * time.Second
	}
	return global
}

// phase spreads checks over their period: every replica computes the same
// offset for the same integration and check type, so they agree on slot
// boundaries (and JetStream dedupes their publishes), while different
// integrations' checks do not arrive in one burst.
func phase(integrationID string, ct contracts.CheckType, interval time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(integrationID))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(ct))
	return time.Duration(h.Sum64() % uint64(interval))
}

// nextSlot returns the first slot due at or after now and its due time.
// Slot k is due at epoch + k*interval + phase.
func nextSlot(now time.Time, interval, ph time.Duration) (int64, time.Time) {
	t := now.UnixNano() - int64(ph)
	k := t / int64(interval)
	if t%int64(interval) != 0 || t < 0 {
		k++
	}
	return k, time.Unix(0, k*int64(interval)+int64(ph))
}

// job is one (integration, check type) in the schedule: 64 bytes, three
// per integration, so its due time is Unix nanoseconds (a time.Time takes
// 24 bytes) and its generation 32 bits (compared for equality only).
type job struct {
	key       string // tenant.integration
	checkType contracts.CheckType
	slot      int64
	dueNanos  int64
	interval  time.Duration
	gen       uint32 // schedule generation of the key; stale entries are skipped
}

// due is when the job's slot is due.
func (j job) due() time.Time { return time.Unix(0, j.dueNanos) }

// jobHeap orders jobs by due time. It holds them by value, so re-planning a
// due job for its next slot (in place, then heap.Fix) allocates nothing.
type jobHeap []job

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].dueNanos < h[j].dueNanos }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(job)) }
func (h *jobHeap) Pop() any {
	old := *h
	n := len(old)
	j := old[n-1]
	old[n-1] = job{}
	*h = old[:n-1]
	return j
}

// schedule keeps every integration's next check slots. Not safe for
// concurrent use: the scheduler loop owns it.
type schedule struct {
	heap      jobHeap
	gens      map[string]uint32
	intervals Intervals
	batch     []job // due's result, reused
}

func newSchedule(iv Intervals) *schedule {
	return &schedule{gens: map[string]uint32{}, intervals: iv}
}

// set (re)plans the checks of it from now on, dropping its old plan.
func (s *schedule) set(it contracts.Integration, levels []contracts.CheckType, now time.Time) {
	key := it.TenantID + "." + it.ID
	s.gens[key]++
	gen := s.gens[key]
	for _, ct := range levels {
		iv := s.intervals.For(it, ct)
		if iv <= 0 {
			continue
		}
		slot, due := nextSlot(now, iv, phase(it.ID, ct, iv))
		heap.Push(&s.heap, job{key: key, checkType: ct, gen: gen, slot: slot, dueNanos: due.UnixNano(), interval: iv})
	}
}

// remove drops an integration's plan.
func (s *schedule) remove(key string) { delete(s.gens, key) }

// due returns every job due at now (skipping stale ones) and re-plans each
// for its next slot. The slice is valid until the next call.
func (s *schedule) due(now time.Time) []job {
	out := s.batch[:0]
	for s.heap.Len() > 0 && s.heap[0].dueNanos <= now.UnixNano() {
		j := &s.heap[0]
		if g, ok := s.gens[j.key]; !ok || g != j.gen {
			heap.Pop(&s.heap)
			continue
		}
		out = append(out, *j)
		j.slot++
		j.dueNanos += int64(j.interval)
		heap.Fix(&s.heap, 0)
	}
	s.batch = out
	return out
}

// next is when the earliest job is due; zero if none.
func (s *schedule) next() time.Time {
	for s.heap.Len() > 0 {
		j := s.heap[0]
		if g, ok := s.gens[j.key]; ok && g == j.gen {
			return j.due()
		}
		heap.Pop(&s.heap)
	}
	return time.Time{}
}

// size is the number of live jobs (for metrics).
func (s *schedule) size() int { return s.heap.Len() }
