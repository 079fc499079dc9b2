package startup

import (
	"context"
	"testing"

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
	// A copy of every stream update request, counted once a flush has
	// gone round: the server sends the copies before its answer to the
	// flush, and the reader queues them before it reads that answer (a
	// callback counting them might not have run yet).
	sub := natstest.SubscribeSync(t, nc, "$JS.API.STREAM.UPDATE.>")
	updates := func() int {
		t.Helper()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		n, _, err := sub.Pending()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx := context.Background()
	cfg := jetstream.KeyValueConfig{Bucket: "ensured", History: 1}
	for range 3 {
		if _, err := ensureBucket(ctx, js, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if n := updates(); n != 0 {
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
	if n := updates(); st.History() != 5 || n != 1 {
		t.Fatalf("history %d after %d updates, want 5 after one", st.History(), n)
	}
}
