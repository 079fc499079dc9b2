package startup

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/natstest"
)

// The collector reports what JetStream counts: a durable consumer's
// undelivered messages (its lag) and unacknowledged ones, the streams'
// sizes, and whether the connection is up; before the bus is attached and
// while NATS is gone, only inthub_nats_connected 0.
func TestBusCollector(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "busmetrics")
	ctx := context.Background()
	route := bus.Route{Name: "demo", Stream: bus.StreamCommands, Subject: "integration.test.requested.>", Durable: "busmetrics-demo"}
	cons, err := b.JetStream().CreateOrUpdateConsumer(ctx, route.Stream, jetstream.ConsumerConfig{
		Durable: route.Durable, FilterSubject: route.Subject, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := b.JetStream().Publish(ctx, "integration.test.requested.t.i", []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	// Two taken and not acked: 3 pending, 2 in work.
	batch, err := cons.Fetch(2)
	if err != nil {
		t.Fatal(err)
	}
	for range batch.Messages() {
	}

	c := newBusCollector()
	reg := prometheus.NewRegistry()
	c.register(reg)
	c.register(reg) // a second registration keeps the first, without a panic
	values := func() map[string]float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				key := f.GetName()
				for _, l := range m.GetLabel() {
					key += "/" + l.GetValue()
				}
				out[key] = m.GetGauge().GetValue()
			}
		}
		return out
	}
	if got := values(); len(got) != 1 || got["inthub_nats_connected"] != 0 {
		t.Fatalf("before attach: %v, want only inthub_nats_connected 0", got)
	}
	c.attach(b, []bus.Route{route, route})
	got := values()
	want := map[string]float64{
		"inthub_nats_connected": 1,
		"inthub_bus_consumer_pending_messages/" + route.Durable + "/" + route.Stream:     3,
		"inthub_bus_consumer_ack_pending_messages/" + route.Durable + "/" + route.Stream: 2,
		"inthub_bus_consumer_redelivered_messages/" + route.Durable + "/" + route.Stream: 0,
		"inthub_bus_stream_messages/" + bus.StreamCommands:                               5,
		"inthub_bus_stream_messages/" + bus.StreamEvents:                                 0,
		"inthub_bus_stream_messages/" + bus.StreamDLQ:                                    0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want exactly %v", got, want)
	}
	// NATS goes away: the service is disconnected, and says only that.
	// The client notices the closed socket on its own read loop, a moment
	// after the server is down: wait for that (bounded), then assert.
	s.Shutdown()
	s.WaitForShutdown()
	got = values()
	for deadline := time.Now().Add(5 * time.Second); got["inthub_nats_connected"] != 0 && time.Now().Before(deadline); got = values() {
		time.Sleep(20 * time.Millisecond)
	}
	if got["inthub_nats_connected"] != 0 || len(got) != 1 {
		t.Errorf("NATS gone: %v, want only inthub_nats_connected 0", got)
	}
}
