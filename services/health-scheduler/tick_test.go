package healthscheduler

import (
	"testing"
	"time"
)

func TestNextTickRoundsUpToTheBoundary(t *testing.T) {
	base := time.Unix(1_700_000_000, 0) // a multiple of 50ms
	tick := 50 * time.Millisecond
	cases := []struct {
		name string
		at   time.Duration // after base
		want time.Duration
	}{
		{"on a boundary stays", 0, 0},
		{"just after goes to the next", time.Nanosecond, tick},
		{"mid-tick", 20 * time.Millisecond, tick},
		{"just before", tick - time.Nanosecond, tick},
		{"a later boundary stays", 3 * tick, 3 * tick},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := nextTick(base.Add(tc.at), tick)
			if want := base.Add(tc.want); !got.Equal(want) {
				t.Fatalf("nextTick(base+%v) = base+%v, want base+%v", tc.at, got.Sub(base), tc.want)
			}
			if got.Before(base.Add(tc.at)) {
				t.Fatalf("nextTick is before its time: a slot would be published early")
			}
		})
	}
}
