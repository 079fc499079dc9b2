package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
)

// Event is one message to publish: a CloudEvent on a subject.
type Event struct {
	// ID is the CloudEvents id and the Nats-Msg-Id: publishing the same ID
	// twice inside the dedupe window stores it once. Empty = a new UUID.
	ID string
	// Subject is the full NATS subject (prefix.tenant.integration).
	Subject string
	// Type is the CloudEvents type; empty = derived from the subject prefix.
	Type string
	// TenantID and DataSubject (ce-subject, usually the integration id).
	TenantID    string
	DataSubject string
	// Data is marshalled to JSON unless it is already []byte.
	Data any
	// Time defaults to now.
	Time time.Time
}

// Publisher publishes CloudEvents to JetStream and waits for the stream's ack.
type Publisher struct {
	js     jetstream.JetStream
	source string
	bound  publishBound
}

// NewPublisher returns a publisher whose events carry source as ce-source,
// with the publish timeout and attempts of DefaultConfig.
func NewPublisher(js jetstream.JetStream, source string) *Publisher {
	d := DefaultConfig()
	return &Publisher{js: js, source: source, bound: publishBound{timeout: d.PublishTimeout, attempts: d.PublishAttempts}}
}

// Publish sends ev and returns once the stream stored it (or found it a
// duplicate). The returned ack says which. Each attempt waits at most the
// bus's PublishTimeout for the ack; a lost one is retried with the same
// Nats-Msg-Id, so the stream stores the event once.
func (p *Publisher) Publish(ctx context.Context, ev Event) (*jetstream.PubAck, error) {
	msg, err := p.Message(ctx, ev)
	if err != nil {
		return nil, err
	}
	ack, err := p.bound.publish(ctx, p.js, msg)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", ev.Subject, err)
	}
	return ack, nil
}

// publishBound bounds one synchronous publish: attempts of at most timeout
// each.
type publishBound struct {
	timeout  time.Duration
	attempts int
}

// Waits between publish attempts: short, since the attempt itself waited.
const (
	publishRetryWait    = 100 * time.Millisecond
	publishRetryMaxWait = time.Second
)

// publish publishes msg and waits for the stream's ack, each attempt within
// b.timeout, until b.attempts are spent or ctx ends. Without this, an ack
// lost in a reconnect or a leader change held the caller (a handler) until
// its own deadline. msg carries its Nats-Msg-Id, so a retry of a publish
// whose ack alone was lost is a duplicate the stream drops.
func (b publishBound) publish(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) (*jetstream.PubAck, error) {
	wait := publishRetryWait
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, b.timeout)
		ack, err := publishMsg(actx, js.Conn(), msg)
		cancel()
		if err == nil {
			return ack, nil
		}
		if attempt >= b.attempts || ctx.Err() != nil || !retryablePublish(err) {
			if attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%w (after %d attempts)", err, attempt)
		case <-timer.C:
		}
		wait = min(2*wait, publishRetryMaxWait)
	}
}

// retryablePublish says whether another attempt may succeed: the ack did
// not come (timeout, no stream responding during a leader change, the
// connection reconnecting), or the server said it is unavailable. A refusal
// (a bad subject, a message too large, a failed expectation) is final.
func retryablePublish(err error) bool {
	var api *jetstream.APIError
	switch {
	case errors.As(err, &api):
		return api.Code >= 500
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrBadSubject),
		errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrInvalidMsg):
		return false
	}
	return true
}

// PublishAsync sends ev without waiting; the future resolves with the ack.
func (p *Publisher) PublishAsync(ctx context.Context, ev Event) (jetstream.PubAckFuture, error) {
	msg, err := p.Message(ctx, ev)
	if err != nil {
		return nil, err
	}
	return p.js.PublishMsgAsync(msg)
}

// Message builds the NATS message of ev: JSON body and CloudEvents headers.
func (p *Publisher) Message(ctx context.Context, ev Event) (*nats.Msg, error) {
	if ev.Subject == "" {
		return nil, fmt.Errorf("publish: empty subject")
	}
	if ev.ID == "" {
		ev.ID = uuid.NewString()
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	if ev.Type == "" {
		ev.Type = eventTypeOf(ev.Subject)
	}
	body, ok := ev.Data.([]byte)
	if !ok {
		var err error
		if body, err = json.Marshal(ev.Data); err != nil {
			return nil, fmt.Errorf("publish %s: encode body: %w", ev.Subject, err)
		}
	}
	// The headers go straight into the message, sized for the CloudEvents
	// set plus trace context, so the map never grows while it is filled.
	msg := &nats.Msg{Subject: ev.Subject, Data: body, Header: make(nats.Header, 12)}
	h := msg.Header
	h[HeaderSpecVersion] = []string{"1.0"}
	id := headerSafe(ev.ID)
	h[HeaderID] = []string{id}
	h[HeaderType] = []string{headerSafe(ev.Type)}
	h[HeaderSource] = []string{headerSafe(p.source)}
	h[HeaderTime] = []string{ev.Time.Format(time.RFC3339Nano)}
	h[HeaderContentType] = []string{"application/json"}
	h[HeaderMsgID] = []string{id}
	if ev.DataSubject != "" {
		h[HeaderSubject] = []string{headerSafe(ev.DataSubject)}
	}
	if ev.TenantID != "" {
		h[HeaderTenant] = []string{headerSafe(ev.TenantID)}
	}
	injectTraceHeader(ctx, h)
	return msg, nil
}

// watermillPublisher lets Watermill middleware (the poison queue) publish
// through the hub's publisher. The topic is ignored for dead letters: their
// subject is derived from the original subject, so one DLQ keeps them apart.
type watermillPublisher struct {
	js    jetstream.JetStream
	bound publishBound
}

var _ message.Publisher = watermillPublisher{}

// Publish implements message.Publisher.
func (w watermillPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		subject := topic
		if orig := m.Metadata.Get(metaSubject); orig != "" && topic == DLQPrefix {
			subject = DLQPrefix + "." + orig
		}
		nm := nats.NewMsg(subject)
		nm.Data = m.Payload
		for k, v := range m.Metadata {
			if len(k) > 0 && k[0] == '_' {
				continue
			}
			nm.Header.Set(k, headerSafe(v))
		}
		ctx := m.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if _, err := w.bound.publish(ctx, w.js, nm); err != nil {
			return fmt.Errorf("publish %s: %w", subject, err)
		}
	}
	return nil
}

// Close implements message.Publisher; the connection belongs to the Bus.
func (watermillPublisher) Close() error { return nil }

// eventTypes are the CloudEvents types of the known subject prefixes, made
// once rather than concatenated on every publish.
var eventTypes = func() map[string]string {
	m := map[string]string{}
	for _, p := range append(append([]string{}, contracts.CommandSubjects...), contracts.EventSubjects...) {
		m[p] = contracts.EventType(p)
	}
	return m
}()

// eventTypeOf is the CloudEvents type of a full subject.
func eventTypeOf(subject string) string {
	p := contracts.PrefixOf(subject)
	if t, ok := eventTypes[p]; ok {
		return t
	}
	return contracts.EventType(p)
}
