package natstest

import (
	"context"
	"encoding/json"
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

// StoredJSON decodes every message stream stores now, in sequence order,
// as a T: the stream read directly by sequence, no consumer.
func StoredJSON[T any](t testing.TB, js jetstream.JetStream, stream string) []T {
	t.Helper()
	ctx := context.Background()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var v T
		if err := json.Unmarshal(m.Data, &v); err != nil {
			t.Fatalf("%s message %d: %v", stream, seq, err)
		}
		out = append(out, v)
	}
	return out
}
