package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Settings of the lifecycle outbox.
const (
	// OutboxConsumer is the durable consumer on the integrations bucket's
	// stream that every manager replica shares: each stored change is
	// delivered to one of them.
	OutboxConsumer = "manager-lifecycle-outbox"
	// outboxAckWait is how long a change taken by a replica that died
	// waits before another replica takes it; the replica working on it
	// says so (in-progress) while it retries a publish.
	outboxAckWait = 5 * time.Second
	// outboxPublishTimeout bounds one publish attempt.
	outboxPublishTimeout = 2 * time.Second
	// announceWait is how long a write call waits for its change's event
	// before it answers anyway (the change is stored, the event follows).
	announceWait = 2 * time.Second
)

// kvOperation is the header a KV delete or purge marker carries.
const kvOperation = "KV-Operation"

// outbox announces every change stored in the integrations bucket as one
// lifecycle event: it reads the bucket's own stream (KV_integrations)
// through a durable consumer shared by the replicas, one change at a time
// (MaxAckPending 1 keeps the events of an integration in store order
// across replicas), publishes the event with an id made of the change's
// stream sequence, and acks the change only once the event stream has
// stored it. A change whose replica died is redelivered; its republish is
// dropped by the events stream's duplicate window, and past the window by
// a look at the last event on its subject. See
// docs/decisions/0003-lifecycle-events.md.
type outbox struct {
	js      jetstream.JetStream
	store   *kvStore // the integrations bucket, for the history of deleted keys
	pub     *bus.Producer
	audit   *audit.Writer // the audit record of each change, written first
	logger  *slog.Logger
	ackWait time.Duration
	crash   *crasher

	mu     sync.Mutex
	cons   jetstream.Consumer
	events *bus.LastID // the last event of a subject in INTHUB_EVENTS

	progress progress

	// floorMu guards the one ack-floor poll shared by every waiting write
	// call (await): at most one consumer info request per floorPoll, however
	// many calls wait.
	floorMu  sync.Mutex
	polling  bool
	lastPoll time.Time
}

// floorPoll is how often waiting write calls ask the shared consumer's ack
// floor (another replica may have announced their change).
const floorPoll = 25 * time.Millisecond

// streamName is the integrations bucket's stream; prefix its subjects'.
var (
	streamName = "KV_" + catalog.BucketIntegrations
	kvPrefix   = "$KV." + catalog.BucketIntegrations + "."
)

// ensure creates the durable consumer, or updates it to this definition.
// A new one starts at the end of the stream: changes stored before it
// existed were announced by the manager that stored them.
func (o *outbox) ensure(ctx context.Context) error {
	st, err := o.js.Stream(ctx, streamName)
	if err != nil {
		return fmt.Errorf("lifecycle outbox: stream %s: %w", streamName, err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       OutboxConsumer,
		Description:   "Integration Hub manager: one lifecycle event per stored change of the catalog",
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.ackWait,
		MaxAckPending: 1,
		MaxDeliver:    -1,
		FilterSubject: kvPrefix + ">",
	})
	if err != nil {
		return fmt.Errorf("lifecycle outbox: consumer %s: %w", OutboxConsumer, err)
	}
	o.mu.Lock()
	o.cons = cons
	o.mu.Unlock()
	return nil
}

func (o *outbox) consumer() jetstream.Consumer {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cons
}

// run announces changes until ctx ends; a broken consumption (NATS gone,
// consumer deleted) is resumed, never given up.
func (o *outbox) run(ctx context.Context) error {
	for {
		err := o.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		o.logger.WarnContext(ctx, "lifecycle outbox interrupted; resuming", "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		if err := o.ensure(ctx); err != nil && ctx.Err() == nil {
			o.logger.WarnContext(ctx, "lifecycle outbox consumer", "error", err.Error())
		}
	}
}

// consume handles the consumer's messages until an error ends the
// iteration.
func (o *outbox) consume(ctx context.Context) error {
	it, err := o.consumer().Messages(bus.PullOptions(1)...)
	if err != nil {
		return err
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				continue // the iterator goes on after a missed heartbeat
			}
			return err
		}
		o.handle(ctx, msg)
	}
}

// handle announces one stored change and acks it once announced. It
// returns without acking when ctx ends or the process crashes, so the
// change is redelivered.
func (o *outbox) handle(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		o.logger.ErrorContext(ctx, "lifecycle outbox: message without metadata", "subject", msg.Subject(), "error", err.Error())
		_ = msg.Term()
		return
	}
	seq := meta.Sequence.Stream
	ev, rec, evCtx, err := o.event(ctx, msg, seq, meta.Timestamp.UTC())
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		var perm permanentError
		if errors.As(err, &perm) {
			// Nothing could ever announce it: say so loudly and move on.
			o.logger.ErrorContext(ctx, "lifecycle outbox: change cannot be announced", "subject", msg.Subject(), "revision", seq, "error", err.Error())
			_ = msg.Term()
			o.progress.advance(seq)
			return
		}
		// The store did not answer: let the change come back.
		o.logger.WarnContext(ctx, "lifecycle outbox: reading the change", "revision", seq, "error", err.Error())
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if o.crash.at(crashBeforePublish) {
		return
	}
	// The audit record first: a change is announced only once it is on
	// record. Both carry ids made of the change's revision.
	if err := o.audit.Write(ctx, rec, meta.NumDelivered > 1, func() { _ = msg.InProgress() }, o.logger); err != nil {
		_ = msg.Nak()
		return
	}
	if o.crash.at(crashAfterAudit) {
		return
	}
	if meta.NumDelivered == 1 || !o.published(ctx, ev) {
		if !o.publish(ctx, msg, evCtx, ev) {
			// Stopping: hand the change to another replica now rather
			// than after the ack wait.
			_ = msg.Nak()
			return
		}
	}
	if o.crash.at(crashAfterPublish) {
		return
	}
	actx, cancel := context.WithTimeout(ctx, outboxPublishTimeout)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		// Redelivered later and found published (or deduplicated).
		o.logger.WarnContext(ctx, "lifecycle outbox: ack", "revision", seq, "error", err.Error())
		return
	}
	o.progress.advance(seq)
}

// publish publishes ev until the events stream acks it or ctx ends,
// telling the server the change is in progress between attempts.
func (o *outbox) publish(ctx context.Context, msg jetstream.Msg, evCtx context.Context, ev bus.Event) bool {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(evCtx, outboxPublishTimeout)
		stop := context.AfterFunc(ctx, cancel)
		_, err := o.pub.Publish(pctx, ev)
		stop()
		cancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		o.logger.WarnContext(ctx, "lifecycle event not published yet; retrying", "event_id", ev.ID, "attempt", attempt, "error", err.Error())
		_ = msg.InProgress()
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// published says whether a redelivered change's event is already stored:
// the last event on its subject carries its id (the outbox publishes one
// change at a time, so no later event of that subject can exist yet). It
// guards the republish of a change whose ack was lost beyond the events
// stream's duplicate window.
func (o *outbox) published(ctx context.Context, ev bus.Event) bool {
	ctx, cancel := context.WithTimeout(ctx, o.store.timeout)
	defer cancel()
	return o.events.Is(ctx, ev.Subject, ev.ID)
}

// permanentError is a change no retry can announce (a record that does not
// decode, a key that is no integration's).
type permanentError struct{ error }

// event builds the lifecycle event of the change msg (stream sequence seq,
// stored at ts) and the context carrying the writer's trace.
func (o *outbox) event(ctx context.Context, msg jetstream.Msg, seq uint64, ts time.Time) (bus.Event, contracts.AuditRecord, context.Context, error) {
	var none contracts.AuditRecord
	k := strings.TrimPrefix(msg.Subject(), kvPrefix)
	tenant, id, ok := strings.Cut(k, ".")
	if !ok || validTenant(tenant) != nil || validID(id) != nil {
		return bus.Event{}, none, nil, permanentError{fmt.Errorf("key %q is not <tenantId>.<integrationId>", k)}
	}
	stamp := audit.StampOf(msg.Headers(), nil)
	evCtx := context.Background()
	var prefix string
	var it contracts.Integration
	switch msg.Headers().Get(kvOperation) {
	case "":
		rec, err := decode(k, msg.Data(), seq)
		if err != nil {
			return bus.Event{}, none, nil, permanentError{err}
		}
		it, evCtx = rec.Integration, bus.ExtractTrace(evCtx, rec.Trace)
		if rec.Audit != nil {
			stamp = *rec.Audit
		}
		switch {
		case rec.Version == 1:
			prefix = contracts.SubjectCreated
		case rec.Version > 1:
			prefix = contracts.SubjectUpdated
		default: // written by something other than this manager
			prefix = contracts.SubjectCreated
			if _, earlier, err := o.history(ctx, k, seq); err != nil {
				return bus.Event{}, none, nil, err
			} else if earlier {
				prefix = contracts.SubjectUpdated
			}
		}
	default: // a delete or purge marker: announce the last stored version
		prefix = contracts.SubjectDeleted
		last, _, err := o.history(ctx, k, seq)
		if err != nil {
			return bus.Event{}, none, nil, err
		}
		it = contracts.Integration{ID: id, TenantID: tenant, Config: map[string]any{}, Labels: map[string]string{}}
		if last != nil {
			it = last.Integration
		}
	}
	it.HealthStatus, it.LastHealthCheck, it.HealthChecks, it.CircuitBreaker = contracts.HealthUnknown, nil, nil, ""
	evID := fmt.Sprintf("%s:%s:%d", prefix, id, seq)
	action := map[string]string{
		contracts.SubjectCreated: contracts.AuditCreated, contracts.SubjectUpdated: contracts.AuditUpdated, contracts.SubjectDeleted: contracts.AuditDeleted,
	}[prefix]
	changes := stamp.Changes
	if action == contracts.AuditDeleted {
		changes = nil
	}
	rec := contracts.AuditRecord{
		ID: audit.RecordID(contracts.AuditIntegration, id, seq), TenantID: tenant,
		ResourceType: contracts.AuditIntegration, ResourceID: id, ResourceName: it.Name,
		Action: action, Actor: stamp.Actor, Changes: append([]contracts.FieldChange{}, changes...), Revision: seq, OccurredAt: ts,
	}
	return bus.Event{
		ID: evID, Subject: contracts.Subject(prefix, tenant, id), TenantID: tenant, DataSubject: id, Time: ts,
		Data: contracts.LifecycleEvent{EventID: evID, TenantID: tenant, Integration: it, OccurredAt: ts, Actor: stamp.Actor, Changes: changes},
	}, rec, evCtx, nil
}

// history reads what the bucket still holds of key before seq: the last
// stored version (nil if none is left: never written, or purged) and
// whether any entry precedes seq.
func (o *outbox) history(ctx context.Context, k string, seq uint64) (*record, bool, error) {
	ctx, cancel := o.store.bound(ctx)
	defer cancel()
	entries, err := o.store.kv.History(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("history of %s: %w", k, err)
	}
	var last *record
	earlier := false
	for _, e := range entries {
		if e.Revision() >= seq {
			continue
		}
		earlier = true
		if e.Operation() != jetstream.KeyValuePut {
			continue
		}
		rec, err := decode(k, e.Value(), e.Revision())
		if err != nil {
			continue
		}
		last = &rec
	}
	return last, earlier, nil
}

// lastSeq is the stream sequence of the last change of an integration (the
// delete marker right after a delete).
func (o *outbox) lastSeq(ctx context.Context, tenant, id string) (uint64, error) {
	ctx, cancel := o.store.bound(ctx)
	defer cancel()
	st, err := o.js.Stream(ctx, streamName)
	if err != nil {
		return 0, err
	}
	m, err := st.GetLastMsgForSubject(ctx, kvPrefix+key(tenant, id))
	if err != nil {
		return 0, err
	}
	return m.Sequence, nil
}

// await waits, at most announceWait, until the change stored at seq has
// been announced by this replica's outbox or another's (the shared
// consumer's ack floor); it reports whether it was. A write answers
// either way: its change is stored, and its event follows.
func (o *outbox) await(ctx context.Context, seq uint64) bool {
	ctx, cancel := context.WithTimeout(ctx, announceWait)
	defer cancel()
	poll := time.NewTicker(floorPoll)
	defer poll.Stop()
	done, stop := o.progress.wait(seq)
	defer stop()
	for {
		select {
		case <-done:
			return true
		case <-poll.C:
			o.pollFloor(ctx)
		case <-ctx.Done():
			return false
		}
	}
}

// pollFloor asks the shared consumer for its ack floor and counts it as
// announced progress (every change at or below it was announced, by this
// replica or another): one request per floorPoll for all waiting calls, the
// others skip it and are woken by the advance. With 32 calls waiting it
// was 32 requests every 25 ms, each a JetStream API call the server
// answers with the consumer's whole state.
func (o *outbox) pollFloor(ctx context.Context) {
	o.floorMu.Lock()
	if o.polling || time.Since(o.lastPoll) < floorPoll {
		o.floorMu.Unlock()
		return
	}
	o.polling = true
	o.floorMu.Unlock()
	defer func() {
		o.floorMu.Lock()
		o.polling, o.lastPoll = false, time.Now()
		o.floorMu.Unlock()
	}()
	c := o.consumer()
	if c == nil {
		return
	}
	if info, err := c.Info(ctx); err == nil {
		o.progress.advance(info.AckFloor.Stream)
	}
}

// progress is the highest stream sequence known announced (by this
// replica's outbox, or below the shared consumer's ack floor), and the
// write calls waiting for a higher one. Each waiter has its own channel,
// closed when its sequence is reached: one channel closed at every advance
// woke every waiting call for each change announced (32 waiting creates,
// 32 wake-ups per create, 31 of them to wait again).
type progress struct {
	mu      sync.Mutex
	seq     uint64
	waiters []waiter
}

// waiter is one call waiting for seq.
type waiter struct {
	seq  uint64
	done chan struct{}
}

func (p *progress) advance(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq <= p.seq {
		return
	}
	p.seq = seq
	kept := p.waiters[:0]
	for _, w := range p.waiters {
		if w.seq <= seq {
			close(w.done)
		} else {
			kept = append(kept, w)
		}
	}
	clear(p.waiters[len(kept):])
	p.waiters = kept
}

// wait returns a channel closed once seq is announced (already closed if
// it is) and a func that stops the waiting (call it when giving up).
func (p *progress) wait(seq uint64) (<-chan struct{}, func()) {
	done := make(chan struct{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seq >= seq {
		close(done)
		return done, func() {}
	}
	p.waiters = append(p.waiters, waiter{seq: seq, done: done})
	return done, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, w := range p.waiters {
			if w.done == done {
				p.waiters = slices.Delete(p.waiters, i, i+1)
				return
			}
		}
	}
}

// Points where a test stops the manager as kill -9 would (crasher).
const (
	crashAfterStore    = "after store"    // a write call stored its change
	crashBeforePublish = "before publish" // the outbox took a change
	crashAfterAudit    = "after audit"    // the outbox wrote the audit record only
	crashAfterPublish  = "after publish"  // the outbox published, not acked
)

// crasher closes the manager's NATS connection at once, the nth time the
// manager reaches point: nothing more is published, acked or answered, as
// after kill -9. Only tests set one (export_test.go); nil does nothing.
type crasher struct {
	point string
	nth   int
	kill  func()
	mu    sync.Mutex
	seen  int
}

// at reports whether the manager just crashed at point.
func (c *crasher) at(point string) bool {
	if c == nil || c.point != point {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen++; c.seen != max(c.nth, 1) {
		return false
	}
	c.kill()
	return true
}
