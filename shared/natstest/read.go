package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReadStream returns the messages stream holds now, in order: all of them,
// or those on the filter subjects. It reads as many as its consumer counted
// pending when created. Stopping at the first empty FetchNoWait instead
// missed messages on a busy machine, where a consumer's first batch can
// arrive later than a no-wait fetch looks.
func ReadStream(t testing.TB, js jetstream.JetStream, stream string, filters ...string) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckNonePolicy,
		FilterSubjects: filters, InactiveThreshold: time.Minute,
	})
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	defer func() { _ = js.DeleteConsumer(context.WithoutCancel(ctx), stream, c.CachedInfo().Name) }()
	want := int(c.CachedInfo().NumPending)
	out := make([]jetstream.Msg, 0, want)
	for len(out) < want {
		batch, err := c.Fetch(min(want-len(out), 1000), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatalf("read %s: %v", stream, err)
		}
		for m := range batch.Messages() {
			out = append(out, m)
		}
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d of %d messages in 30s", stream, len(out), want)
		}
	}
	return out
}
