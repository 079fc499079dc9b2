package ingress

import (
	"testing"
	"time"
)

// TestAccessSampler: up to rate info lines a second, the rest at debug,
// counted into the next info line; a negative rate logs every request.
func TestAccessSampler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rate float64
		// at are the request times in ms from the start; want their info
		// decision, skipped the count reported with each info line.
		at      []int
		want    []bool
		skipped []int64
	}{
		{"burst beyond the rate", 2, []int{0, 1, 2, 3}, []bool{true, true, false, false}, []int64{0, 0, 0, 0}},
		{"refills over time", 2, []int{0, 1, 2, 600}, []bool{true, true, false, true}, []int64{0, 0, 0, 1}},
		{"every request when negative", -1, []int{0, 0, 0}, []bool{true, true, true}, []int64{0, 0, 0}},
		{"default rate when zero", 0, []int{0, 0}, []bool{true, true}, []int64{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newAccessSampler(tc.rate)
			start := time.Unix(1000, 0)
			var now time.Time
			if s != nil {
				s.now = func() time.Time { return now }
			}
			for i, ms := range tc.at {
				now = start.Add(time.Duration(ms) * time.Millisecond)
				info, skipped := s.take()
				if info != tc.want[i] || skipped != tc.skipped[i] {
					t.Errorf("request %d at %d ms: info %v skipped %d, want %v %d", i, ms, info, skipped, tc.want[i], tc.skipped[i])
				}
			}
		})
	}
}

// TestAccessSamplerUnderLoad: at a request a millisecond for 3 s, the info
// lines keep to the rate (the first second's burst included) and every
// request is either one or counted, once, in the next info line's skipped.
func TestAccessSamplerUnderLoad(t *testing.T) {
	t.Parallel()
	const rate, requests = 10, 3000
	s := newAccessSampler(rate)
	start := time.Unix(1000, 0)
	var now time.Time
	s.now = func() time.Time { return now }
	var infos, counted, lastInfo int64
	for i := range requests {
		now = start.Add(time.Duration(i) * time.Millisecond)
		if info, skipped := s.take(); info {
			infos++
			counted += skipped
			lastInfo = int64(i)
		} else if skipped != 0 {
			t.Fatalf("request %d: a debug request reported %d skipped", i, skipped)
		}
	}
	if infos < 3*rate || infos > 4*rate {
		t.Errorf("%d info lines in 3 s at %d a second", infos, rate)
	}
	if counted != lastInfo+1-infos {
		t.Errorf("info lines reported %d requests at debug, want %d", counted, lastInfo+1-infos)
	}
}
