package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// kvOperation is the header of a KV delete or purge marker.
const kvOperation = "KV-Operation"

// Route is the line of a route table that writes audit records.
func Route(name string) bus.Route {
	// Reads: a redelivered change looks up the last record on its subject
	// before writing (no duplicate past the stream's dedupe window).
	return bus.Route{Name: name, Produces: []string{contracts.SubjectAudit + ".>"}, Reads: []string{bus.StreamAudit}}
}

// Event is the bus event of rec: its id is the message id, so a
// republish of the same change is stored once.
func Event(rec contracts.AuditRecord) bus.Event {
	return bus.Event{
		ID: rec.ID, Subject: contracts.AuditSubject(rec.TenantID, rec.ResourceType, rec.ResourceID),
		Type: contracts.SubjectAudit, TenantID: rec.TenantID, DataSubject: rec.ResourceID,
		Data: rec, Time: rec.OccurredAt,
	}
}

// Writer publishes audit records and tells whether one is stored already.
type Writer struct {
	pub    *bus.Producer
	stored *bus.LastID
}

// NewWriter returns a writer publishing through pub (a producer of Route).
func NewWriter(js jetstream.JetStream, pub *bus.Producer) *Writer {
	return &Writer{pub: pub, stored: bus.NewLastID(js, bus.StreamAudit)}
}

// Publish publishes rec once (the publisher retries with the same id).
func (w *Writer) Publish(ctx context.Context, rec contracts.AuditRecord) error {
	_, err := w.pub.Publish(ctx, Event(rec))
	return err
}

// Stored says whether rec is the last record on its subject: the outboxes
// write a resource's records one change at a time, so a redelivered
// change whose record is stored finds it there, also past the duplicate
// window.
func (w *Writer) Stored(ctx context.Context, rec contracts.AuditRecord) bool {
	return w.stored.Is(ctx, contracts.AuditSubject(rec.TenantID, rec.ResourceType, rec.ResourceID), rec.ID)
}

// Write publishes rec unless redelivered says the change was taken before
// and its record is stored already. It retries until the stream acks or
// ctx ends, calling progress between attempts (a message's in-progress).
func (w *Writer) Write(ctx context.Context, rec contracts.AuditRecord, redelivered bool, progress func(), logger *slog.Logger) error {
	if redelivered {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		stored := w.Stored(sctx, rec)
		cancel()
		if stored {
			return nil
		}
	}
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := w.Publish(ctx, rec)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		logger.WarnContext(ctx, "audit record not published yet; retrying", "record_id", rec.ID, "attempt", attempt, "error", err.Error())
		if progress != nil {
			progress()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// StampOf reads the stamp of a change of a KV bucket's stream: a put's
// body holds it as its "audit" member, a delete marker in HeaderStamp.
// A change written without one has the zero Stamp.
func StampOf(header nats.Header, data []byte) Stamp {
	var s Stamp
	if header.Get(kvOperation) != "" {
		if h := header.Get(HeaderStamp); h != "" {
			_ = json.Unmarshal([]byte(h), &s)
		}
		return s
	}
	var body struct {
		Audit *Stamp `json:"audit"`
	}
	if json.Unmarshal(data, &body) == nil && body.Audit != nil {
		s = *body.Audit
	}
	return s
}

// Delete writes a delete marker for key of bucket if its last revision is
// still rev, with stamp in HeaderStamp: what kv.Delete with LastRevision
// does, plus the header. A revision mismatch is the server's wrong-last-
// sequence error, as from kv.Delete.
func Delete(ctx context.Context, js jetstream.JetStream, bucket, key string, rev uint64, stamp Stamp) error {
	b, err := json.Marshal(stamp)
	if err != nil {
		return fmt.Errorf("audit stamp: %w", err)
	}
	msg := nats.NewMsg("$KV." + bucket + "." + key)
	msg.Header.Set(kvOperation, "DEL")
	msg.Header.Set(HeaderStamp, string(b))
	msg.Header.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(rev, 10))
	_, err = js.PublishMsg(ctx, msg)
	return err
}

// Permanent is an error no retry of Build can cure.
type Permanent struct{ error }

// NewPermanent wraps err as Permanent.
func NewPermanent(err error) error { return Permanent{err} }

// Change is one stored change of a bucket, as an Outbox hands it to its
// Build function.
type Change struct {
	// Key is the KV key, Revision its stream sequence, Time when stored.
	Key      string
	Revision uint64
	Time     time.Time
	// Deleted says a delete or purge marker; Value is then empty.
	Deleted bool
	Value   []byte
	Stamp   Stamp
	// Previous reads the last version of Key stored before this change
	// (nil if none is left).
	Previous func(ctx context.Context) ([]byte, error)
}

// Outbox writes one audit record per stored change of a KV bucket: a
// durable consumer on the bucket's stream shared by the service's
// replicas, one change at a time, acked once the record is stored.
type Outbox struct {
	JS     jetstream.JetStream
	KV     jetstream.KeyValue
	Bucket string
	// Consumer is the durable consumer's name.
	Consumer string
	Writer   *Writer
	// Build makes the record of a change. A Permanent error (a value that
	// never decodes) is logged and the change skipped; any other (the
	// store did not answer) makes the change come back.
	Build   func(ctx context.Context, c Change) (contracts.AuditRecord, error)
	Logger  *slog.Logger
	AckWait time.Duration

	mu   sync.Mutex
	cons jetstream.Consumer
}

// Ensure creates the consumer or updates it to this definition. A new one
// starts at the end of the stream; create it before the first write is
// served so no change is stored unseen.
func (o *Outbox) Ensure(ctx context.Context) error {
	name := "KV_" + o.Bucket
	st, err := o.JS.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("audit outbox: stream %s: %w", name, err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       o.Consumer,
		Description:   "Integration Hub: one audit record per stored change of " + o.Bucket,
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       max(o.AckWait, time.Second),
		MaxAckPending: 1,
		MaxDeliver:    -1,
		FilterSubject: "$KV." + o.Bucket + ".>",
	})
	if err != nil {
		return fmt.Errorf("audit outbox: consumer %s: %w", o.Consumer, err)
	}
	o.mu.Lock()
	o.cons = cons
	o.mu.Unlock()
	return nil
}

// Run writes records until ctx ends, resuming a broken consumption.
func (o *Outbox) Run(ctx context.Context) error {
	for {
		err := o.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		o.Logger.WarnContext(ctx, "audit outbox interrupted; resuming", "bucket", o.Bucket, "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		if err := o.Ensure(ctx); err != nil && ctx.Err() == nil {
			o.Logger.WarnContext(ctx, "audit outbox consumer", "bucket", o.Bucket, "error", err.Error())
		}
	}
}

func (o *Outbox) consume(ctx context.Context) error {
	o.mu.Lock()
	cons := o.cons
	o.mu.Unlock()
	if cons == nil {
		return errors.New("no consumer")
	}
	it, err := cons.Messages(bus.PullOptions(1)...)
	if err != nil {
		return err
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				continue
			}
			return err
		}
		o.handle(ctx, msg)
	}
}

func (o *Outbox) handle(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return
	}
	key := strings.TrimPrefix(msg.Subject(), "$KV."+o.Bucket+".")
	c := Change{
		Key: key, Revision: meta.Sequence.Stream, Time: meta.Timestamp.UTC(),
		Deleted: msg.Headers().Get(kvOperation) != "", Value: msg.Data(), Stamp: StampOf(msg.Headers(), msg.Data()),
		Previous: func(ctx context.Context) ([]byte, error) { return previous(ctx, o.KV, key, meta.Sequence.Stream) },
	}
	rec, err := o.Build(ctx, c)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		var perm Permanent
		if errors.As(err, &perm) {
			o.Logger.ErrorContext(ctx, "audit outbox: change cannot be recorded", "bucket", o.Bucket, "revision", c.Revision, "error", err.Error())
			_ = msg.Term()
			return
		}
		o.Logger.WarnContext(ctx, "audit outbox: reading the change", "bucket", o.Bucket, "revision", c.Revision, "error", err.Error())
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if err := o.Writer.Write(ctx, rec, meta.NumDelivered > 1, func() { _ = msg.InProgress() }, o.Logger); err != nil {
		_ = msg.Nak()
		return
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		o.Logger.WarnContext(ctx, "audit outbox: ack", "bucket", o.Bucket, "revision", c.Revision, "error", err.Error())
	}
}

// previous reads the last put of key before seq from the bucket's history.
func previous(ctx context.Context, kv jetstream.KeyValue, key string, seq uint64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	entries, err := kv.History(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", key, err)
	}
	var last []byte
	for _, e := range entries {
		if e.Revision() < seq && e.Operation() == jetstream.KeyValuePut {
			last = e.Value()
		}
	}
	return last, nil
}
