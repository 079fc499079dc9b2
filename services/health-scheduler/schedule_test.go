package healthscheduler

import (
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

func TestNextSlotIsDeterministicAndAligned(t *testing.T) {
	t.Parallel()
	iv := time.Minute
	ph := phase("integration-1", contracts.CheckConnectivity, iv)
	if ph < 0 || ph >= iv {
		t.Fatalf("phase %v outside [0, %v)", ph, iv)
	}
	now := time.Unix(1_700_000_000, 123)
	k1, due1 := nextSlot(now, iv, ph)
	k2, due2 := nextSlot(now.Add(30*time.Second), iv, ph)
	if due1.Before(now) || due1.Sub(now) >= iv {
		t.Fatalf("due %v not within one interval after %v", due1, now)
	}
	if k2 != k1 && k2 != k1+1 {
		t.Fatalf("slots %d then %d", k1, k2)
	}
	if (due2.UnixNano()-int64(ph))%int64(iv) != 0 {
		t.Fatal("due time not on a slot boundary")
	}
	// A due instant is its own slot.
	if k, d := nextSlot(due1, iv, ph); k != k1 || !d.Equal(due1) {
		t.Fatalf("at due time: slot %d %v", k, d)
	}
}

func TestPhasesSpreadChecks(t *testing.T) {
	t.Parallel()
	iv := time.Minute
	buckets := make([]int, 6)
	for i := 0; i < 6000; i++ {
		ph := phase(time.Unix(int64(i), 0).String(), contracts.CheckConnectivity, iv)
		buckets[ph/(10*time.Second)]++
	}
	for i, n := range buckets {
		if n < 800 || n > 1200 {
			t.Fatalf("bucket %d holds %d of 6000 checks: not spread", i, n)
		}
	}
}

func TestScheduleRunsEachSlotOnceAndReplans(t *testing.T) {
	t.Parallel()
	s := newSchedule(Intervals{Connectivity: 10 * time.Second, Authentication: 20 * time.Second})
	it := contracts.Integration{ID: "i1", TenantID: "t1", Config: map[string]any{}}
	start := time.Unix(1_700_000_000, 0)
	s.set(it, []contracts.CheckType{contracts.CheckConnectivity, contracts.CheckAuthentication}, start)
	counts := map[contracts.CheckType]int{}
	slots := map[contracts.CheckType]map[int64]bool{contracts.CheckConnectivity: {}, contracts.CheckAuthentication: {}}
	for now := start; now.Before(start.Add(60 * time.Second)); now = now.Add(time.Second) {
		for _, j := range s.due(now) {
			if slots[j.checkType][j.slot] {
				t.Fatalf("slot %d of %s ran twice", j.slot, j.checkType)
			}
			slots[j.checkType][j.slot] = true
			counts[j.checkType]++
		}
	}
	if counts[contracts.CheckConnectivity] != 6 || counts[contracts.CheckAuthentication] != 3 {
		t.Fatalf("in 60s: %v, want 6 connectivity and 3 authentication checks", counts)
	}
	// A per-integration override replaces the plan; removal stops it.
	it.Config = map[string]any{"connectivityCheckSeconds": float64(5)}
	s.set(it, []contracts.CheckType{contracts.CheckConnectivity}, start.Add(60*time.Second))
	n := 0
	for now := start.Add(60 * time.Second); now.Before(start.Add(80 * time.Second)); now = now.Add(time.Second) {
		n += len(s.due(now))
	}
	if n != 4 {
		t.Fatalf("after override: %d checks in 20s, want 4", n)
	}
	s.remove("t1.i1")
	if len(s.due(start.Add(10*time.Minute))) != 0 || !s.next().IsZero() {
		t.Fatal("removed integration still scheduled")
	}
}
