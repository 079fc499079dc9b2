package manager_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors/specs"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// managerConfig is a manager on s with the test policy and quiet logs.
func managerConfig(t *testing.T, s *server.Server) manager.Config {
	t.Helper()
	return manager.Config{
		Bus: natstest.Config(s, "manager"), Registry: specs.Registry(), LocalPolicy: testPolicy(t),
		Logger: slog.New(slog.DiscardHandler),
	}
}

// runManager runs a manager with cfg until stop, which waits for it to end
// (a crashed one may end with an error: stop does not judge it).
func runManager(t *testing.T, cfg manager.Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	cfg.Ready = ready
	go func() { done <- manager.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("manager did not start: %v", err)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatal("manager did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("manager did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// lifecycleEventIDs counts the lifecycle events in INTHUB_EVENTS by event
// id, and lists the ids in stream order.
func lifecycleEventIDs(t *testing.T, js jetstream.JetStream) (map[string]int, []string) {
	t.Helper()
	counts := map[string]int{}
	var order []string
	for _, m := range natstest.ReadStream(t, js, bus.StreamEvents) {
		p := contracts.PrefixOf(m.Subject())
		if p != contracts.SubjectCreated && p != contracts.SubjectUpdated && p != contracts.SubjectDeleted {
			continue
		}
		id := m.Headers().Get(bus.HeaderMsgID)
		counts[id]++
		order = append(order, id)
	}
	return counts, order
}

// storedChanges lists the event id every change in the integrations
// bucket's stream must have: <prefix>:<integrationId>:<stream sequence>.
func storedChanges(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var out []string
	for _, m := range natstest.ReadStream(t, js, "KV_"+catalog.BucketIntegrations) {
		meta, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		_, id, _ := strings.Cut(strings.TrimPrefix(m.Subject(), "$KV."+catalog.BucketIntegrations+"."), ".")
		prefix := contracts.SubjectDeleted
		if m.Headers().Get("KV-Operation") == "" {
			var v struct {
				Version uint64 `json:"version"`
			}
			if err := json.Unmarshal(m.Data(), &v); err != nil {
				t.Fatal(err)
			}
			prefix = contracts.SubjectUpdated
			if v.Version == 1 {
				prefix = contracts.SubjectCreated
			}
		}
		out = append(out, fmt.Sprintf("%s:%s:%d", prefix, id, meta.Sequence.Stream))
	}
	return out
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestACrashBetweenStoreAndEventLosesNoEvent: the manager dies (its NATS
// connection cut at once, as by kill -9) between storing a create and
// announcing it. Before the outbox, the event was published by the call
// that stored the change, so it was never published; now a restarted
// manager announces it exactly once, also when the dead one had published
// but not acked, and also past the events stream's duplicate window.
func TestACrashBetweenStoreAndEventLosesNoEvent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		point     string
		dupWindow time.Duration
	}{
		{"killed after the store write", manager.CrashAfterStore, 0},
		{"killed before the outbox published", manager.CrashBeforePublish, 0},
		{"killed after the audit record, before the event", manager.CrashAfterAudit, 0},
		{"killed after the audit record, redelivered past the duplicate window", manager.CrashAfterAudit, 100 * time.Millisecond},
		{"killed after the publish, before the ack", manager.CrashAfterPublish, 0},
		{"killed after the publish, redelivered past the duplicate window", manager.CrashAfterPublish, 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := natstest.Start(t)
			cfg := managerConfig(t, s)
			if tc.dupWindow > 0 {
				cfg.Bus.DuplicateWindow = tc.dupWindow
			}
			ackWait := 500 * time.Millisecond
			manager.SetOutboxAckWait(&cfg, ackWait)
			crashing := cfg
			manager.CrashAt(&crashing, tc.point, 1)
			stopFirst := runManager(t, crashing)

			nc, js := natstest.Connect(t, s)
			_, err := catalog.NewClient(nc, 2*time.Second).Create(context.Background(), catalog.CreateRequest{TenantID: tenantA, Input: input("crash")})
			if err == nil {
				t.Fatal("the create was answered: the manager did not crash where the test put it")
			}
			stopFirst()

			kv, err := js.KeyValue(context.Background(), catalog.BucketIntegrations)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := kv.Keys(context.Background())
			if err != nil || len(keys) != 1 {
				t.Fatalf("stored keys %v (%v), want the one create", keys, err)
			}
			e, err := kv.Get(context.Background(), keys[0])
			if err != nil {
				t.Fatal(err)
			}
			_, id, _ := strings.Cut(keys[0], ".")
			want := contracts.SubjectCreated + ":" + id + ":" + strconv.FormatUint(e.Revision(), 10)

			runManager(t, cfg)
			waitFor(t, 10*time.Second, "no integration.created after the restart", func() bool {
				counts, _ := lifecycleEventIDs(t, js)
				return counts[want] > 0
			})
			// Give a duplicate every chance to show up.
			time.Sleep(3 * ackWait)
			counts, order := lifecycleEventIDs(t, js)
			if counts[want] != 1 || len(order) != 1 {
				t.Fatalf("events %v, want exactly one %s", order, want)
			}
			// And exactly one audit record of the change, written before
			// its event.
			records := auditRecordIDs(t, js)
			if wantRec := audit.RecordID(contracts.AuditIntegration, id, e.Revision()); len(records) != 1 || records[0] != wantRec {
				t.Fatalf("audit records %v, want exactly one %s", records, wantRec)
			}
		})
	}
}

// auditRecordIDs lists the ids of the records in INTHUB_AUDIT, in order.
func auditRecordIDs(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var ids []string
	for _, rec := range natstest.StoredJSON[contracts.AuditRecord](t, js, bus.StreamAudit) {
		ids = append(ids, rec.ID)
	}
	return ids
}

// TestEveryStoredRevisionHasExactlyOneEvent: two replicas serve creates,
// updates and deletes; one dies mid-run between a publish and its ack and
// comes back. Afterwards every change in the bucket's stream has exactly
// one lifecycle event with its id, no event is extra, and each
// integration's events are in store order.
func TestEveryStoredRevisionHasExactlyOneEvent(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	cfg := managerConfig(t, s)
	manager.SetOutboxAckWait(&cfg, 500*time.Millisecond)
	first := cfg
	manager.CrashAt(&first, manager.CrashAfterPublish, 8)
	stopFirst := runManager(t, first)
	runManager(t, cfg)
	nc, js := natstest.Connect(t, s)
	cl := catalog.NewClient(nc, 3*time.Second)
	ctx := context.Background()

	// retry runs op until it succeeds; a lost answer (the dying replica's)
	// is retried, as a client would.
	retry := func(what string, op func() error) {
		var err error
		for attempt := 0; attempt < 10; attempt++ {
			if err = op(); err == nil {
				return
			}
		}
		t.Errorf("%s: %v", what, err)
	}
	work := func(phase string, n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var it catalog.CreateResult
				retry("create", func() (err error) {
					it, err = cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input(phase), IdempotencyKey: fmt.Sprint(phase, i)})
					return err
				})
				retry("patch", func() error {
					_, err := cl.Patch(ctx, catalog.PatchRequest{TenantID: tenantA, ID: it.ID, Patch: json.RawMessage(`{"description":"patched"}`)})
					return err
				})
				if i%3 == 0 {
					retry("delete", func() error {
						_, err := cl.Delete(ctx, catalog.DeleteRequest{TenantID: tenantA, ID: it.ID})
						var ae *apierr.Error
						if errors.As(err, &ae) && ae.Status == 404 {
							return nil // deleted by an attempt whose answer was lost
						}
						return err
					})
				}
			})
		}
		wg.Wait()
	}
	work("before", 24)
	stopFirst()
	runManager(t, cfg) // the dead replica comes back
	work("after", 24)

	cons, err := js.Consumer(ctx, "KV_"+catalog.BucketIntegrations, manager.OutboxConsumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the outbox did not catch up", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	time.Sleep(time.Second) // a late duplicate would land here
	stored := storedChanges(t, js)
	counts, order := lifecycleEventIDs(t, js)
	if len(stored) < 24*2*2 {
		t.Fatalf("only %d stored changes", len(stored))
	}
	for _, id := range stored {
		if counts[id] != 1 {
			t.Errorf("stored change %s has %d events", id, counts[id])
		}
	}
	want := map[string]bool{}
	for _, id := range stored {
		want[id] = true
	}
	for id := range counts {
		if !want[id] {
			t.Errorf("event %s announces no stored change", id)
		}
	}
	last := map[string]uint64{}
	for _, id := range order {
		parts := strings.Split(id, ":")
		seq, _ := strconv.ParseUint(parts[2], 10, 64)
		if seq <= last[parts[1]] {
			t.Errorf("integration %s: event of revision %d after %d", parts[1], seq, last[parts[1]])
		}
		last[parts[1]] = seq
	}
}
