package healthscheduler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestCheckQueueReadsAtMostOncePerIntervalAndKeepsTheLastReading(t *testing.T) {
	t.Parallel()
	type step struct {
		after   time.Duration // since the start
		reading uint64
		err     error
		full    bool
		reads   int // reads so far
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
	}{
		{"below, then at the bound, then drained", 10, []step{
			{0, 3, nil, false, 1},
			{500 * time.Millisecond, 50, nil, false, 1}, // not read again within a second
			{time.Second, 10, nil, true, 2},
			{2 * time.Second, 9, nil, false, 3},
		}},
		{"a failed reading keeps the last one", 10, []step{
			{0, 12, nil, true, 1},
			{time.Second, 0, errors.New("timeout"), true, 2},
			{2 * time.Second, 1, nil, false, 3},
		}},
		{"no bound never reads", -1, []step{
			{0, 1 << 40, nil, false, 0},
			{time.Second, 1 << 40, nil, false, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			start := time.Unix(1_000_000, 0)
			reads := 0
			var next step
			q := &checkQueue{max: tc.max, every: time.Second, logger: slog.New(slog.NewTextHandler(&logs, nil)),
				read: func(context.Context) (uint64, error) { reads++; return next.reading, next.err }}
			for i, st := range tc.steps {
				next = st
				if got := q.full(context.Background(), start.Add(st.after)); got != st.full {
					t.Errorf("step %d: full %v, want %v", i, got, st.full)
				}
				if reads != st.reads {
					t.Errorf("step %d: %d readings, want %d", i, reads, st.reads)
				}
			}
			// One line when it fills and one when it drains, not one per call.
			if n := strings.Count(logs.String(), "check queue full"); tc.name == "below, then at the bound, then drained" && n != 1 {
				t.Errorf("logged full %d times, want once:\n%s", n, logs.String())
			}
		})
	}
}
