package bus_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// BenchmarkPublish is one synchronous Publish per op: a CloudEvent built,
// stored in INTHUB_COMMANDS and acknowledged by the stream.
func BenchmarkPublish(b *testing.B) {
	s := natstest.Start(b)
	pub := natstest.Open(b, s, "bench-publish").Publisher()
	ctx := context.Background()
	ev := bus.Event{
		Subject:     contracts.Subject(contracts.SubjectTestRequested, "t1", "i1"),
		TenantID:    "t1",
		DataSubject: "i1",
		Data:        contracts.TestRequested{RequestID: "r1", TenantID: "t1", IntegrationID: "i1"},
	}
	for b.Loop() {
		if _, err := pub.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRoundTrip is one command -> handler -> event per op, as the
// manager answers a test request: an ingress bus publishes
// integration.test.requested, a Router handler (concurrency 8) publishes
// integration.test.completed, and an ordered consumer receives it. At most
// 256 commands are in flight, so the figure is a steady state, not a burst.
func BenchmarkRoundTrip(b *testing.B) {
	const concurrency, inflight = 8, 256
	s := natstest.Start(b)
	worker := natstest.Open(b, s, "bench-worker")
	ingress := natstest.Open(b, s, "bench-ingress")
	r, err := worker.NewRouter()
	if err != nil {
		b.Fatal(err)
	}
	route := bus.Route{Name: "bench", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>", Durable: "bench", Concurrency: concurrency,
		Produces: []string{contracts.SubjectTestCompleted + ".>"}, Handler: completeTest}
	if err := r.Handle(route); err != nil {
		b.Fatal(err)
	}
	startRouter(b, r)

	window := make(chan struct{}, inflight)
	done := make(chan struct{})
	received := 0
	events, err := ingress.JetStream().OrderedConsumer(context.Background(), bus.StreamEvents,
		jetstream.OrderedConsumerConfig{FilterSubjects: []string{contracts.SubjectTestCompleted + ".>"}})
	if err != nil {
		b.Fatal(err)
	}
	// The callback runs on one goroutine, so received needs no lock; done
	// hands the count over.
	cc, err := events.Consume(func(jetstream.Msg) {
		<-window
		if received++; received == b.N {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cc.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acks := make([]jetstream.PubAckFuture, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
			b.Fatalf("%d of %d events arrived in time", i-len(window), b.N)
		}
		fut, err := ingress.Publisher().PublishAsync(ctx, bus.Event{
			Subject:  contracts.Subject(contracts.SubjectTestRequested, "t1", "i"+strconv.Itoa(i%16)),
			TenantID: "t1",
			Data:     contracts.TestRequested{RequestID: strconv.Itoa(i), TenantID: "t1", IntegrationID: "i" + strconv.Itoa(i%16)},
		})
		if err != nil {
			b.Fatal(err)
		}
		acks = append(acks, fut)
	}
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("%d of %d events arrived in time", len(acks)-len(window), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	for _, fut := range acks {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			b.Fatalf("command publish: %v", err)
		}
	}
}

// completeTest answers a test command with its completion event, deduplicated
// on the command's id, and acks the command by returning nil.
func completeTest(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	req, err := bus.Decode[contracts.TestRequested](m)
	if err != nil {
		return err
	}
	_, err = out.Publish(ctx, bus.Event{
		ID:       "completed-" + m.ID,
		Subject:  contracts.Subject(contracts.SubjectTestCompleted, req.TenantID, req.IntegrationID),
		TenantID: req.TenantID,
		Data: contracts.TestCompleted{
			RequestID: req.RequestID, TenantID: req.TenantID, IntegrationID: req.IntegrationID,
			Success: true, CompletedAt: time.Now().UTC(),
		},
	})
	return err
}

// startRouter runs r until the benchmark ends.
func startRouter(b *testing.B, r *bus.Router) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = r.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-stopped })
	select {
	case <-r.Running():
	case <-time.After(10 * time.Second):
		b.Fatal("router did not start")
	}
}
