package audit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// records reads every record of INTHUB_AUDIT, in order.
func records(t *testing.T, js jetstream.JetStream) []contracts.AuditRecord {
	t.Helper()
	return natstest.StoredJSON[contracts.AuditRecord](t, js, bus.StreamAudit)
}

// TestOutboxRecordsEveryChangeOnce: puts carrying a stamp in their value
// and a delete carrying it in its marker's header each give one record with
// the stamp's actor and changes (the delete the name of the last version);
// a change handed over again past the duplicate window (a replica that
// died after the publish, before the ack) is found stored and not written
// twice, which the duplicate window alone would no longer prevent.
func TestOutboxRecordsEveryChangeOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := natstest.Start(t)
	cfg := natstest.Config(s, "audit-test")
	cfg.DuplicateWindow = 100 * time.Millisecond
	b := natstest.OpenConfig(t, cfg)
	js := b.JetStream()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "things", History: 5})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	w := audit.NewWriter(js, b.Publisher().For(audit.Route("test")))
	o := &audit.Outbox{
		JS: js, KV: kv, Bucket: "things", Consumer: "things-audit", Writer: w, Logger: logger, AckWait: time.Second,
		Build: func(ctx context.Context, c audit.Change) (contracts.AuditRecord, error) {
			tenant, id, _ := strings.Cut(c.Key, ".")
			value := c.Value
			if c.Deleted {
				prev, err := c.Previous(ctx)
				if err != nil {
					return contracts.AuditRecord{}, err
				}
				value = prev
			}
			var thing struct{ Name string }
			_ = json.Unmarshal(value, &thing)
			return contracts.AuditRecord{
				ID: audit.RecordID("thing", id, c.Revision), TenantID: tenant, ResourceType: "thing", ResourceID: id,
				ResourceName: thing.Name, Action: c.Stamp.Action, Actor: c.Stamp.Actor,
				Changes: append([]contracts.FieldChange{}, c.Stamp.Changes...), Revision: c.Revision, OccurredAt: c.Time,
			}, nil
		},
	}
	if err := o.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = o.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	key := uuid.NewString() + "." + uuid.NewString()
	ci := &contracts.Actor{Kind: contracts.ActorToken, Name: "ci"}
	value := func(name string, stamp audit.Stamp) []byte {
		b, _ := json.Marshal(map[string]any{"name": name, "audit": stamp})
		return b
	}
	rev, err := kv.Create(ctx, key, value("a", audit.Stamp{Action: contracts.AuditCreated, Actor: ci, Changes: []contracts.FieldChange{{Field: "name", New: "a"}}}))
	if err != nil {
		t.Fatal(err)
	}
	if rev, err = kv.Update(ctx, key, value("b", audit.Stamp{Action: contracts.AuditUpdated, Actor: ci, Changes: []contracts.FieldChange{{Field: "name", Old: "a", New: "b"}}}), rev); err != nil {
		t.Fatal(err)
	}
	// A delete at a stale revision is refused as kv.Delete's would be.
	if err := audit.Delete(ctx, js, "things", key, rev-1, audit.Stamp{Action: contracts.AuditDeleted, Actor: ci}); err == nil {
		t.Fatal("a delete at a stale revision was stored")
	}
	if err := audit.Delete(ctx, js, "things", key, rev, audit.Stamp{Action: contracts.AuditDeleted, Actor: ci}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, key); err == nil {
		t.Fatal("the key is still there after the delete marker")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(records(t, js)) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := records(t, js)
	if len(got) != 3 {
		t.Fatalf("%d records, want 3: %+v", len(got), got)
	}
	for i, want := range []struct{ action, name, change string }{
		{contracts.AuditCreated, "a", "name"}, {contracts.AuditUpdated, "b", "name"}, {contracts.AuditDeleted, "b", ""},
	} {
		r := got[i]
		if r.Action != want.action || r.ResourceName != want.name || r.Actor == nil || r.Actor.Name != "ci" ||
			(want.change != "" && (len(r.Changes) != 1 || r.Changes[0].Field != want.change)) {
			t.Errorf("record %d: %+v, want %+v", i, r, want)
		}
	}

	// Past the duplicate window, a redelivered change finds its record.
	time.Sleep(3 * cfg.DuplicateWindow)
	last := got[2]
	if err := w.Write(ctx, last, true, nil, logger); err != nil {
		t.Fatal(err)
	}
	if n := len(records(t, js)); n != 3 {
		t.Fatalf("a redelivered change wrote its record again: %d records", n)
	}
	// Without that look, the stream would have taken it twice.
	if err := w.Write(ctx, last, false, nil, logger); err != nil {
		t.Fatal(err)
	}
	if n := len(records(t, js)); n != 4 {
		t.Fatalf("the duplicate window should be over: %d records", n)
	}
}
