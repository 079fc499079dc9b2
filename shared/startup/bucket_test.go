package startup

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/natstest"
)

// A bucket that already has the declared configuration is left alone (no
// stream update, which would race with other services' consumers being
// made on it); one declared differently is updated to the declaration.
func TestEnsureBucketUpdatesOnlyWhatDiffers(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	nc, js := natstest.Connect(t, s)
	var updates atomic.Int64
	sub, err := nc.Subscribe("$JS.API.STREAM.UPDATE.>", func(*nats.Msg) { updates.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	ctx := context.Background()
	cfg := jetstream.KeyValueConfig{Bucket: "ensured", History: 1}
	for range 3 {
		if _, err := ensureBucket(ctx, js, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := updates.Load(); n != 0 {
		t.Fatalf("%d stream updates for a bucket declared three times alike, want none", n)
	}
	cfg.History = 5
	kv, err := ensureBucket(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil { // the update request's copy is in
		t.Fatal(err)
	}
	if st.History() != 5 || updates.Load() != 1 {
		t.Fatalf("history %d after %d updates, want 5 after one", st.History(), updates.Load())
	}
}
