package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

func runRouter(t *testing.T, r *bus.Router) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-r.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("router did not start")
	}
}

// nextDLQ waits for the next dead letter on subject.
func nextDLQ(t *testing.T, js jetstream.JetStream, subject string) jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, bus.StreamDLQ, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.DLQPrefix + "." + subject}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("no dead letter for %s: %v", subject, err)
	}
	return m
}

func TestEnsureStreamsIsIdempotent(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "streams")
	cfg := b.Config()
	cfg.EventsMaxAge = 48 * time.Hour
	for i := 0; i < 2; i++ {
		if err := bus.EnsureStreams(context.Background(), b.JetStream(), cfg); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	for _, want := range bus.StreamConfigs(cfg) {
		st, err := b.JetStream().Stream(context.Background(), want.Name)
		if err != nil {
			t.Fatal(err)
		}
		info := st.CachedInfo()
		if info.Config.Retention != want.Retention || info.Config.MaxAge != want.MaxAge || len(info.Config.Subjects) != len(want.Subjects) {
			t.Errorf("%s: got %+v", want.Name, info.Config)
		}
	}
}

// An events cap (INTHUB_EVENTS_MAX_MB) set on a hub that already has its
// events stream reaches that stream, and once the stream is full the oldest
// events go while publishing goes on.
func TestEventsCapReachesAnExistingStreamAndDropsTheOldest(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "events-cap")
	ctx := context.Background()
	cfg := b.Config()
	const limit = 64 << 10
	cfg.EventsMaxBytes = limit
	if err := bus.EnsureStreams(ctx, b.JetStream(), cfg); err != nil {
		t.Fatal(err)
	}
	st, err := b.JetStream().Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config.MaxBytes; got != limit {
		t.Fatalf("events stream MaxBytes = %d, want %d", got, limit)
	}
	data := map[string]string{"message": strings.Repeat("x", 900)}
	const n = 200 // ~200 KB of events, three times the cap
	for i := range n {
		id := fmt.Sprintf("evt-%d", i)
		ev := bus.Event{ID: id, Subject: contracts.Subject(contracts.SubjectHealthChecked, "t1", "i1"), TenantID: "t1", DataSubject: "i1", Data: data}
		if _, err := b.Publisher().Publish(ctx, ev); err != nil {
			t.Fatalf("publish %d of %d with the stream full: %v", i+1, n, err)
		}
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Bytes > limit {
		t.Errorf("events stream holds %d bytes, above its cap of %d", info.State.Bytes, limit)
	}
	if info.State.LastSeq != n || info.State.FirstSeq <= 1 {
		t.Errorf("events stream holds sequences %d..%d, want the newest up to %d with the oldest dropped", info.State.FirstSeq, info.State.LastSeq, n)
	}
}

func TestPublishSetsCloudEventHeadersAndDedupes(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "pub")
	ctx := context.Background()
	ev := bus.Event{ID: "evt-1", Subject: contracts.Subject(contracts.SubjectCreated, "t1", "i1"), TenantID: "t1", DataSubject: "i1", Data: map[string]string{"a": "b"}}
	ack1, err := b.Publisher().Publish(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	ack2, err := b.Publisher().Publish(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if ack1.Duplicate || !ack2.Duplicate {
		t.Fatalf("dedupe: first duplicate=%v second duplicate=%v", ack1.Duplicate, ack2.Duplicate)
	}
	st, _ := b.JetStream().Stream(ctx, bus.StreamEvents)
	raw, err := st.GetMsg(ctx, ack1.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce-specversion": "1.0", "ce-id": "evt-1", "ce-type": "inthub.integration.created",
		"ce-source": "inthub/pub", "ce-subject": "i1", "content-type": "application/json", "Nats-Msg-Id": "evt-1", "inthub-tenant": "t1",
	}
	for k, v := range want {
		if got := raw.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, raw.Header.Get("ce-time")); err != nil {
		t.Errorf("ce-time: %v", err)
	}
	info, _ := st.Info(ctx)
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}
}

func TestHandlerAcksAndCarriesTraceContext(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "trace")
	rec := tracetest.NewSpanRecorder()
	tp := trace.NewTracerProvider(trace.WithSpanProcessor(rec))
	r, err := b.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *bus.Message, 1)
	gotTrace := make(chan string, 1)
	if err := r.Handle(bus.Route{Name: "h", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>", Durable: "h",
		Handler: func(ctx context.Context, m *bus.Message, _ *bus.Producer) error {
			gotTrace <- m.Headers["traceparent"]
			got <- m
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	runRouter(t, r)
	ctx, span := tp.Tracer("test").Start(context.Background(), "publisher")
	if _, err := b.Publisher().Publish(ctx, bus.Event{Subject: contracts.Subject(contracts.SubjectTestRequested, "t1", "i1"), TenantID: "t1", Data: contracts.TestRequested{RequestID: "r1", TenantID: "t1", IntegrationID: "i1"}}); err != nil {
		t.Fatal(err)
	}
	span.End()
	select {
	case m := <-got:
		req, err := bus.Decode[contracts.TestRequested](m)
		if err != nil || req.RequestID != "r1" || m.TenantID != "t1" || m.Delivered != 1 {
			t.Fatalf("got %+v %v", m, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler not called")
	}
	parent := <-gotTrace
	if want := span.SpanContext().TraceID().String(); len(parent) < 36 || parent[3:35] != want {
		t.Fatalf("traceparent %q does not carry trace %s", parent, want)
	}
	// Acked: the work-queue stream is empty once the ack lands.
	waitFor(t, func() bool {
		st, _ := b.JetStream().Stream(context.Background(), bus.StreamCommands)
		info, _ := st.Info(context.Background())
		return info.State.Msgs == 0
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		body          []byte
		handlerErr    error
		wantCalls     int64
		wantReasonSub string
	}{
		{name: "always failing handler reaches the DLQ after max deliveries", body: []byte(`{"requestId":"r"}`), handlerErr: errors.New("remote down"), wantCalls: 3, wantReasonSub: "remote down"},
		{name: "undecodable body goes to the DLQ at once", body: []byte(`{not json`), wantCalls: 1, wantReasonSub: "decode"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := natstest.Start(t)
			cfg := natstest.Config(s, "dlq")
			cfg.MaxDeliver = 3
			b := natstest.OpenConfig(t, cfg)
			r, err := b.NewRouter()
			if err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int64
			if err := r.Handle(bus.Route{Name: "failing", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>", Durable: "failing",
				Handler: func(ctx context.Context, m *bus.Message, _ *bus.Producer) error {
					calls.Add(1)
					if _, err := bus.Decode[contracts.TestRequested](m); err != nil {
						return err
					}
					return tc.handlerErr
				}}); err != nil {
				t.Fatal(err)
			}
			runRouter(t, r)
			subject := contracts.Subject(contracts.SubjectTestRequested, "t1", "i"+string(rune('0'+i)))
			if _, err := b.Publisher().Publish(context.Background(), bus.Event{ID: "orig-id", Subject: subject, TenantID: "t1", Data: tc.body}); err != nil {
				t.Fatal(err)
			}
			dl := nextDLQ(t, b.JetStream(), subject)
			h := dl.Headers()
			if got := h.Get(bus.HeaderDLQReason); !strings.Contains(got, tc.wantReasonSub) {
				t.Errorf("reason %q lacks %q", got, tc.wantReasonSub)
			}
			if h.Get(bus.HeaderDLQSubject) != subject || h.Get(bus.HeaderDLQStream) != bus.StreamCommands || h.Get(bus.HeaderDLQHandler) != "failing" {
				t.Errorf("dlq headers %v", h)
			}
			if h.Get("ce-id") != "orig-id" || h.Get("inthub-tenant") != "t1" || h.Get("ce-type") != "inthub.integration.test.requested" {
				t.Errorf("original headers not kept: %v", h)
			}
			if string(dl.Data()) != string(tc.body) {
				t.Errorf("body %q, want %q", dl.Data(), tc.body)
			}
			// The original is acked (gone from the work queue) and not retried again.
			waitFor(t, func() bool {
				st, _ := b.JetStream().Stream(context.Background(), bus.StreamCommands)
				info, _ := st.Info(context.Background())
				return info.State.Msgs == 0
			})
			time.Sleep(200 * time.Millisecond)
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("handler called %d times, want %d", got, tc.wantCalls)
			}
		})
	}
}
