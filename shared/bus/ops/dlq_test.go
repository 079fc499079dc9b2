package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/bus/ops"
	"github.com/stella-ops/inthub/shared/contracts"
)

// deadLetter writes a dead letter by hand, as the dead-letter middleware
// would, and returns its sequence in INTHUB_DLQ.
func (f *fixture) deadLetter(original string, headers map[string]string, body string) uint64 {
	f.t.Helper()
	msg := nats.NewMsg(bus.DLQPrefix + "." + original)
	msg.Data = []byte(body)
	for k, v := range map[string]string{
		bus.HeaderDLQReason: "handler failed", bus.HeaderDLQSubject: original, bus.HeaderDLQStream: bus.StreamCommands,
		bus.HeaderDLQHandler: "integration-test", bus.HeaderDLQAttempts: "5", bus.HeaderDLQTime: time.Now().UTC().Format(time.RFC3339Nano),
	} {
		msg.Header.Set(k, v)
	}
	for k, v := range headers {
		msg.Header.Set(k, v)
	}
	ack, err := f.js.PublishMsg(context.Background(), msg)
	if err != nil {
		f.t.Fatal(err)
	}
	return ack.Sequence
}

func (f *fixture) dlqCount() uint64 {
	f.t.Helper()
	st, err := f.js.Stream(context.Background(), bus.StreamDLQ)
	if err != nil {
		f.t.Fatal(err)
	}
	return st.CachedInfo().State.Msgs
}

// TestRedrivenDeadLetterIsProcessedOnceAndLeavesTheDLQ runs the real path: a
// handler dead-letters a command, the operator lists and shows it, the
// handler is fixed, the redrive hands it over once and removes it.
func TestRedrivenDeadLetterIsProcessedOnceAndLeavesTheDLQ(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var broken atomic.Bool
	broken.Store(true)
	var mu sync.Mutex
	seen := map[string]int{} // ce-id -> successful handlings
	r, err := f.bus.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(bus.Route{Name: "integration-test", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>", Durable: "ops-test",
		Handler: func(_ context.Context, m *bus.Message, _ *bus.Producer) error {
			if broken.Load() {
				return bus.Permanent(errors.New("integration store unreachable"))
			}
			mu.Lock()
			seen[m.ID]++
			mu.Unlock()
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	runRouter(t, r)

	subject := contracts.Subject(contracts.SubjectTestRequested, tenantA, "int-1")
	cmd := contracts.TestRequested{RequestID: "req-1", TenantID: tenantA, IntegrationID: "int-1"}
	if _, err := f.bus.Publisher().Publish(ctx, bus.Event{ID: "test-request:req-1", Subject: subject, TenantID: tenantA, Data: cmd}); err != nil {
		t.Fatal(err)
	}
	var page ops.DLQPage
	waitFor(t, "the dead letter", func() bool {
		page, err = f.ops.DeadLetters(ctx, ops.DLQQuery{})
		return err == nil && len(page.Items) == 1
	})
	dl := page.Items[0]
	if dl.OriginalSubject != subject || dl.OriginalStream != bus.StreamCommands || dl.Handler != "integration-test" ||
		dl.Deliveries != 1 || dl.Reason != "integration store unreachable" || dl.Subject != bus.DLQPrefix+"."+subject || dl.Time.IsZero() {
		t.Fatalf("listed %+v", dl)
	}
	detail, err := f.ops.DeadLetter(ctx, dl.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	var body contracts.TestRequested
	if err := json.Unmarshal(detail.Data, &body); err != nil || body != cmd {
		t.Fatalf("body %s: %v", detail.Data, err)
	}
	if detail.Headers["ce-id"] != "test-request:req-1" || detail.Headers["Nats-Msg-Id"] != "test-request:req-1" || detail.Headers[bus.HeaderDLQReason] == "" {
		t.Fatalf("headers %v", detail.Headers)
	}

	// The original Nats-Msg-Id is still inside the dedupe window: the
	// redrive must not be dropped as its duplicate.
	broken.Store(false)
	red, err := f.ops.Redrive(ctx, dl.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if red.Subject != subject || red.Stream != bus.StreamCommands || red.MsgID != fmt.Sprintf("redrive:%d:test-request:req-1", dl.Sequence) {
		t.Fatalf("redriven %+v", red)
	}
	waitFor(t, "the redriven command to be handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["test-request:req-1"] == 1
	})
	if _, err := f.ops.DeadLetter(ctx, dl.Sequence); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("the dead letter is still there: %v", err)
	}
	if _, err := f.ops.Redrive(ctx, dl.Sequence); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("second redrive: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen["test-request:req-1"] != 1 || f.dlqCount() != 0 {
		t.Fatalf("handled %v, %d dead letters left", seen, f.dlqCount())
	}
}

func TestRedriveIsNotDroppedByTheDedupeWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	subject := contracts.Subject(contracts.SubjectTestRequested, tenantA, "int-9")
	orig := nats.NewMsg(subject)
	orig.Header.Set(nats.MsgIdHdr, "cmd-1")
	orig.Header.Set("ce-id", "cmd-1")
	orig.Data = []byte(`{"requestId":"r"}`)
	if _, err := f.js.PublishMsg(ctx, orig); err != nil {
		t.Fatal(err)
	}
	seq := f.deadLetter(subject, map[string]string{nats.MsgIdHdr: "cmd-1", "ce-id": "cmd-1", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, `{"requestId":"r"}`)
	red, err := f.ops.Redrive(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.js.Stream(ctx, bus.StreamCommands)
	got, err := st.GetMsg(ctx, red.StreamSequence)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != subject || string(got.Data) != `{"requestId":"r"}` || got.Header.Get("ce-id") != "cmd-1" ||
		got.Header.Get(nats.MsgIdHdr) != fmt.Sprintf("redrive:%d:cmd-1", seq) || got.Header.Get("traceparent") == "" {
		t.Fatalf("redriven message %s %v %s", got.Subject, got.Header, got.Data)
	}
	for k := range got.Header {
		if len(k) > 11 && k[:11] == "inthub-dlq-" {
			t.Errorf("redriven message keeps %s", k)
		}
	}
	info, _ := st.Info(ctx)
	if info.State.Msgs != 2 {
		t.Fatalf("INTHUB_COMMANDS holds %d messages, want the original and the redriven one", info.State.Msgs)
	}

	// Dead-lettered again after the redrive: the next redrive's id names
	// the event, not the chain of redrives.
	again := f.deadLetter(subject, map[string]string{nats.MsgIdHdr: red.MsgID, "ce-id": "cmd-1"}, `{"requestId":"r"}`)
	red2, err := f.ops.Redrive(ctx, again)
	if err != nil || red2.MsgID != fmt.Sprintf("redrive:%d:cmd-1", again) {
		t.Fatalf("second redrive: %+v, %v", red2, err)
	}
}

func TestRedriveRefusesSubjectsOutsideTheHub(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seq := f.deadLetter("integration.test.requested.t.i", map[string]string{bus.HeaderDLQSubject: "inthub.manager.integrations.create"}, `{}`)
	var inv *ops.InvalidError
	if _, err := f.ops.Redrive(context.Background(), seq); !errors.As(err, &inv) {
		t.Fatalf("redrive to a manager subject: %v", err)
	}
	if f.dlqCount() != 1 {
		t.Fatal("a refused redrive removed the dead letter")
	}
	if _, err := f.ops.Redrive(context.Background(), 0); !errors.As(err, &inv) {
		t.Fatalf("seq 0: %v", err)
	}
	if _, err := f.ops.Redrive(context.Background(), 999); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("missing seq: %v", err)
	}
}

func TestDeadLettersPageFilterDeleteAndPurge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tests := contracts.Subject(contracts.SubjectTestRequested, tenantA, "int-1")
	notify := contracts.Subject(contracts.SubjectNotificationRequest, tenantB, "_")
	var seqs []uint64
	for i := 0; i < 5; i++ {
		seqs = append(seqs, f.deadLetter(tests, nil, fmt.Sprintf(`{"n":%d}`, i)))
	}
	poison := f.deadLetter(notify, nil, "{not json")

	// Pages of two, oldest first.
	var got []uint64
	q := ops.DLQQuery{Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		p, err := f.ops.DeadLetters(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Items {
			got = append(got, d.Sequence)
		}
		if p.NextAfter == 0 {
			break
		}
		q.After = p.NextAfter
	}
	if want := append(slices.Clone(seqs), poison); !slices.Equal(got, want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
	byTenant, err := f.ops.DeadLetters(ctx, ops.DLQQuery{TenantID: tenantB})
	if err != nil || len(byTenant.Items) != 1 || byTenant.Items[0].Sequence != poison {
		t.Fatalf("tenant filter: %+v, %v", byTenant, err)
	}
	bySubject, err := f.ops.DeadLetters(ctx, ops.DLQQuery{Subject: contracts.SubjectTestRequested})
	if err != nil || len(bySubject.Items) != 5 {
		t.Fatalf("subject filter: %d, %v", len(bySubject.Items), err)
	}
	detail, err := f.ops.DeadLetter(ctx, poison)
	if err != nil || detail.DataText != "{not json" || detail.Data != nil {
		t.Fatalf("poison body: %+v, %v", detail.Body, err)
	}

	if err := f.ops.DeleteDeadLetter(ctx, seqs[0]); err != nil {
		t.Fatal(err)
	}
	if err := f.ops.DeleteDeadLetter(ctx, seqs[0]); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// A purge that says neither what nor "all" removes nothing.
	var inv *ops.InvalidError
	for _, q := range []ops.PurgeQuery{{}, {DryRun: true}, {All: true, Subject: contracts.SubjectTestRequested + ".>"}, {All: true, TenantID: tenantA}} {
		if _, err := f.ops.Purge(ctx, q); !errors.As(err, &inv) || inv.Field != "all" {
			t.Fatalf("purge %+v: %v, want an invalid all", q, err)
		}
	}
	if f.dlqCount() != 5 {
		t.Fatalf("%d dead letters left after refused purges, want 5", f.dlqCount())
	}
	n, err := f.ops.Purge(ctx, ops.PurgeQuery{Subject: contracts.SubjectTestRequested + ".>", DryRun: true})
	if err != nil || n != 4 || f.dlqCount() != 5 {
		t.Fatalf("dry run by subject: %d, %v, %d left", n, err, f.dlqCount())
	}
	if n, err := f.ops.Purge(ctx, ops.PurgeQuery{TenantID: tenantB, DryRun: true}); err != nil || n != 1 {
		t.Fatalf("dry run by tenant: %d, %v", n, err)
	}
	n, err = f.ops.Purge(ctx, ops.PurgeQuery{Subject: contracts.SubjectTestRequested + ".>"})
	if err != nil || n != 4 {
		t.Fatalf("purge by subject: %d, %v", n, err)
	}
	if f.dlqCount() != 1 {
		t.Fatalf("%d dead letters left, want the poison one", f.dlqCount())
	}
	if _, err := f.ops.Purge(ctx, ops.PurgeQuery{Subject: "inthub.manager.>"}); !errors.As(err, &inv) {
		t.Fatalf("purge of a foreign subject: %v", err)
	}
	if n, err := f.ops.Purge(ctx, ops.PurgeQuery{All: true, DryRun: true}); err != nil || n != 1 || f.dlqCount() != 1 {
		t.Fatalf("dry run of all: %d, %v", n, err)
	}
	if n, err := f.ops.Purge(ctx, ops.PurgeQuery{All: true}); err != nil || n != 1 || f.dlqCount() != 0 {
		t.Fatalf("purge all: %d, %v", n, err)
	}
	if n, err := f.ops.Purge(ctx, ops.PurgeQuery{All: true}); err != nil || n != 0 {
		t.Fatalf("purge of an empty DLQ: %d, %v", n, err)
	}
	if p, err := f.ops.DeadLetters(ctx, ops.DLQQuery{}); err != nil || len(p.Items) != 0 {
		t.Fatalf("list of an empty DLQ: %+v, %v", p, err)
	}
}

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

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
