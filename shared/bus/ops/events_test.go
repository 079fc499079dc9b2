package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/bus/ops"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

const (
	tenantA = "0193a0b4-0000-7000-8000-00000000000a"
	tenantB = "0193a0b4-0000-7000-8000-00000000000b"
)

// fixture is an embedded JetStream with the hub's streams and a Service.
type fixture struct {
	t   *testing.T
	bus *bus.Bus
	js  jetstream.JetStream
	ops *ops.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "ops-test")
	return &fixture{t: t, bus: b, js: b.JetStream(), ops: ops.New(b.JetStream(), ops.Options{})}
}

// publishChanged publishes n integration.health.changed events and returns
// their stream sequences.
func (f *fixture) publishChanged(tenant, integration string, n int) []uint64 {
	f.t.Helper()
	var seqs []uint64
	for i := 0; i < n; i++ {
		ack, err := f.bus.Publisher().Publish(context.Background(), bus.Event{
			Subject: contracts.Subject(contracts.SubjectHealthChanged, tenant, integration), TenantID: tenant, DataSubject: integration,
			Data: contracts.HealthChanged{TenantID: tenant, IntegrationID: integration, Previous: "healthy", Current: "unhealthy", Reason: fmt.Sprint("change ", i), ChangedAt: time.Now().UTC()},
		})
		if err != nil {
			f.t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	return seqs
}

func seqsOf(items []ops.Event) []uint64 {
	out := make([]uint64, len(items))
	for i, e := range items {
		out[i] = e.Sequence
	}
	return out
}

func TestEventsSinceReturnsExactlyTheLaterEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publishChanged(tenantA, "int-1", 3)
	f.publishChanged(tenantB, "int-2", 2)
	time.Sleep(5 * time.Millisecond)
	since := time.Now()
	time.Sleep(5 * time.Millisecond)
	later := f.publishChanged(tenantA, "int-1", 4)
	f.publishChanged(tenantB, "int-2", 1)

	page, err := f.ops.Events(context.Background(), ops.Query{Subject: contracts.SubjectHealthChanged + ".>", TenantID: tenantA, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(page.Items); !slices.Equal(got, later) || page.NextSeq != 0 {
		t.Fatalf("since: got %v next %d, want %v", got, page.NextSeq, later)
	}
	ev := page.Items[0]
	var body contracts.HealthChanged
	if err := json.Unmarshal(ev.Data, &body); err != nil || body.Reason != "change 0" || body.IntegrationID != "int-1" {
		t.Fatalf("data %s: %v", ev.Data, err)
	}
	if ev.Stream != bus.StreamEvents || ev.Subject != contracts.Subject(contracts.SubjectHealthChanged, tenantA, "int-1") ||
		ev.Headers["ce-type"] != "inthub.integration.health.changed" || ev.Headers["Nats-Msg-Id"] == "" || ev.Time.Before(since) {
		t.Fatalf("event %+v", ev)
	}

	all, err := f.ops.Events(context.Background(), ops.Query{Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 5 {
		t.Fatalf("since without a filter: %d events, want 5", len(all.Items))
	}
	none, err := f.ops.Events(context.Background(), ops.Query{Since: time.Now().Add(time.Minute)})
	if err != nil || len(none.Items) != 0 || none.NextSeq != 0 {
		t.Fatalf("since the future: %+v, %v", none, err)
	}
}

func TestEventsSequenceBoundsAndPaging(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seqs := f.publishChanged(tenantA, "int-1", 10)
	f.publishChanged(tenantB, "int-2", 3) // interleaved noise after them
	ctx := context.Background()
	filter := contracts.Subject(contracts.SubjectHealthChanged, tenantA, "int-1")

	page, err := f.ops.Events(ctx, ops.Query{Subject: filter, FromSeq: seqs[2], ToSeq: seqs[6]})
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(page.Items); !slices.Equal(got, seqs[2:7]) || page.NextSeq != 0 {
		t.Fatalf("fromSeq..toSeq: got %v next %d, want %v", got, page.NextSeq, seqs[2:7])
	}

	// Page through with a limit of 3, pinning the end to the first lastSeq.
	var got []uint64
	q := ops.Query{Subject: filter, FromSeq: seqs[0], Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p, err := f.ops.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, seqsOf(p.Items)...)
		if p.NextSeq == 0 {
			break
		}
		if len(p.Items) != 3 {
			t.Fatalf("a full page holds %d", len(p.Items))
		}
		q.FromSeq = p.NextSeq
		if q.ToSeq == 0 {
			q.ToSeq = p.LastSeq
		}
		f.publishChanged(tenantA, "int-1", 1) // published while paging: outside the range
	}
	if !slices.Equal(got, seqs) {
		t.Fatalf("paged: %v, want %v", got, seqs)
	}

	beyond, err := f.ops.Events(ctx, ops.Query{FromSeq: 10_000})
	if err != nil || len(beyond.Items) != 0 {
		t.Fatalf("fromSeq beyond the end: %+v, %v", beyond, err)
	}
}

func TestEventsUntil(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.publishChanged(tenantA, "int-1", 2)
	time.Sleep(5 * time.Millisecond)
	until := time.Now()
	time.Sleep(5 * time.Millisecond)
	f.publishChanged(tenantA, "int-1", 2)
	page, err := f.ops.Events(context.Background(), ops.Query{FromSeq: 1, Until: until})
	if err != nil || !slices.Equal(seqsOf(page.Items), first) {
		t.Fatalf("until: %v, %v; want %v", seqsOf(page.Items), err, first)
	}
}

func TestQueryValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := time.Now()
	tests := []struct {
		name  string
		q     ops.Query
		field string
	}{
		{"since and fromSeq", ops.Query{Since: now, FromSeq: 3}, "since"},
		{"toSeq before fromSeq", ops.Query{FromSeq: 5, ToSeq: 4}, "toSeq"},
		{"until before since", ops.Query{Since: now, Until: now.Add(-time.Minute)}, "until"},
		{"limit too large", ops.Query{Limit: ops.MaxLimit + 1}, "limit"},
		{"negative limit", ops.Query{Limit: -1}, "limit"},
		{"unknown subject", ops.Query{Subject: "secrets.>"}, "subject"},
		{"command subject", ops.Query{Subject: contracts.SubjectTestRequested + ".>"}, "subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.ops.Events(context.Background(), tc.q)
			var inv *ops.InvalidError
			if !errors.As(err, &inv) || inv.Field != tc.field {
				t.Fatalf("got %v, want an invalid %s", err, tc.field)
			}
		})
	}
}

func TestReplayRepublishesToTheTarget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.publishChanged(tenantA, "int-1", 2)
	time.Sleep(5 * time.Millisecond)
	since := time.Now()
	time.Sleep(5 * time.Millisecond)
	seqs := f.publishChanged(tenantA, "int-1", 3)
	f.publishChanged(tenantB, "int-2", 2)

	r := ops.Replay{Query: ops.Query{Subject: contracts.SubjectHealthChanged + ".>", TenantID: tenantA, Since: since}, Target: "inthub.replay.incident-7"}
	res, err := f.ops.Replay(ctx, r)
	if err != nil || res.Count != 3 || res.Duplicates != 0 || res.NextSeq != 0 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	// The copies are in INTHUB_EVENTS under the target, in order, with the
	// original headers, a new msg id and where they came from.
	copies, err := f.ops.Events(ctx, ops.Query{Subject: "inthub.replay.incident-7.>", FromSeq: 1})
	if err != nil || len(copies.Items) != len(seqs) {
		t.Fatalf("copies: %+v, %v", copies, err)
	}
	st, _ := f.js.Stream(ctx, bus.StreamEvents)
	for i, seq := range seqs {
		ev := copies.Items[i]
		orig, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Subject != "inthub.replay.incident-7."+orig.Subject || string(ev.Data) != string(orig.Data) {
			t.Errorf("copy %d: %s %s", i, ev.Subject, ev.Data)
		}
		if want := fmt.Sprintf("replay:incident-7:%d:%s", seq, orig.Header.Get("Nats-Msg-Id")); ev.Headers["Nats-Msg-Id"] != want {
			t.Errorf("copy %d: msg id %q, want %q", i, ev.Headers["Nats-Msg-Id"], want)
		}
		if ev.Headers[ops.HeaderReplayedFrom] != fmt.Sprintf("%s:%d", bus.StreamEvents, seq) {
			t.Errorf("copy %d: replayed-from %q", i, ev.Headers[ops.HeaderReplayedFrom])
		}
		for _, h := range []string{"ce-id", "ce-type", "ce-source", "ce-time", "inthub-tenant"} {
			if ev.Headers[h] != orig.Header.Get(h) {
				t.Errorf("copy %d: %s %q, want %q", i, h, ev.Headers[h], orig.Header.Get(h))
			}
		}
	}

	// A retried call stores nothing twice; another target is a new replay.
	again, err := f.ops.Replay(ctx, r)
	if err != nil || again.Count != 3 || again.Duplicates != 3 {
		t.Fatalf("retried replay: %+v, %v", again, err)
	}
	r.Target = "inthub.replay.incident-8"
	other, err := f.ops.Replay(ctx, r)
	if err != nil || other.Count != 3 || other.Duplicates != 0 {
		t.Fatalf("replay to another target: %+v, %v", other, err)
	}
	// Replays never read replayed copies, so they never replay themselves.
	var inv *ops.InvalidError
	if _, err := f.ops.Replay(ctx, ops.Replay{Query: ops.Query{Subject: "inthub.replay.incident-7.>", FromSeq: 1}, Target: "inthub.replay.x"}); !errors.As(err, &inv) {
		t.Fatalf("replay of replayed copies: %v", err)
	}
}

func TestReplayValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name  string
		r     ops.Replay
		field string
	}{
		{"no target", ops.Replay{Query: ops.Query{FromSeq: 1}}, "target"},
		{"live subject as target", ops.Replay{Query: ops.Query{FromSeq: 1}, Target: "integration.health.changed.t.i"}, "target"},
		{"wildcard target", ops.Replay{Query: ops.Query{FromSeq: 1}, Target: "inthub.replay.*"}, "target"},
		{"no start", ops.Replay{Target: "inthub.replay.x"}, "since"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.ops.Replay(context.Background(), tc.r)
			var inv *ops.InvalidError
			if !errors.As(err, &inv) || inv.Field != tc.field {
				t.Fatalf("got %v, want an invalid %s", err, tc.field)
			}
		})
	}
}

func TestTailFollowsNewEventsAndResumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	old := f.publishChanged(tenantA, "int-1", 2)
	tail, err := f.ops.Tail(ctx, ops.TailQuery{Subject: contracts.SubjectHealthChanged, TenantID: tenantA})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	f.publishChanged(tenantB, "int-2", 1) // another tenant: filtered out
	fresh := f.publishChanged(tenantA, "int-1", 2)
	for _, want := range fresh {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ev, err := tail.Next(nctx)
		cancel()
		if err != nil || ev.Sequence != want {
			t.Fatalf("next: seq %d, %v; want %d", ev.Sequence, err, want)
		}
	}
	nctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := tail.Next(nctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an idle tail: %v", err)
	}
	// The tail still works after an idle wait, and a new one resumes after a sequence.
	more := f.publishChanged(tenantA, "int-1", 1)
	nctx2, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	if ev, err := tail.Next(nctx2); err != nil || ev.Sequence != more[0] {
		t.Fatalf("after idling: %d, %v", ev.Sequence, err)
	}
	resumed, err := f.ops.Tail(ctx, ops.TailQuery{Subject: contracts.SubjectHealthChanged + ".>", TenantID: tenantA, AfterSeq: old[0]})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if ev, err := resumed.Next(nctx2); err != nil || ev.Sequence != old[1] {
		t.Fatalf("resumed: %d, %v; want %d", ev.Sequence, err, old[1])
	}
}

func TestReadersLeaveNoConsumersBehind(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.publishChanged(tenantA, "int-1", 5)
	for i := 0; i < 3; i++ {
		if _, err := f.ops.Events(ctx, ops.Query{Limit: 2}); err != nil {
			t.Fatal(err)
		}
	}
	tail, err := f.ops.Tail(ctx, ops.TailQuery{})
	if err != nil {
		t.Fatal(err)
	}
	tail.Close()
	st, _ := f.js.Stream(ctx, bus.StreamEvents)
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Consumers == 0 {
			return
		}
		if time.Now().After(deadline) {
			var names []string
			for n := range st.ConsumerNames(ctx).Name() {
				names = append(names, n)
			}
			t.Fatalf("%d consumers left: %s", info.State.Consumers, strings.Join(names, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
