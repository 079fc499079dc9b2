package bus

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestFirstBeatAtOnceOnlyWhenTheMessageMayHaveWaited: a message taken
// soon after it was stored gets its first heartbeat AckWait/4 later; one
// that may have sat in the client's buffer (old, redelivered, no metadata,
// stamped in the future) gets one at once, as before.
func TestFirstBeatAtOnceOnlyWhenTheMessageMayHaveWaited(t *testing.T) {
	s := &subscriber{cfg: DefaultConfig()}
	quarter := s.cfg.AckWait / 4
	now := time.Now()
	cases := []struct {
		name string
		meta *jetstream.MsgMetadata
		want bool
	}{
		{"fresh first delivery", &jetstream.MsgMetadata{NumDelivered: 1, Timestamp: now.Add(-time.Millisecond)}, false},
		{"stored a quarter ack wait ago", &jetstream.MsgMetadata{NumDelivered: 1, Timestamp: now.Add(-quarter)}, true},
		{"redelivery", &jetstream.MsgMetadata{NumDelivered: 2, Timestamp: now}, true},
		{"no metadata", nil, true},
		{"stamped in the future", &jetstream.MsgMetadata{NumDelivered: 1, Timestamp: now.Add(time.Minute)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.mayHaveWaited(tc.meta); got != tc.want {
				t.Fatalf("mayHaveWaited = %v, want %v", got, tc.want)
			}
		})
	}
}
