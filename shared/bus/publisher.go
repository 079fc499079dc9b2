package bus

import (
	"context"
	"encoding/json"
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
}

// NewPublisher returns a publisher whose events carry source as ce-source.
func NewPublisher(js jetstream.JetStream, source string) *Publisher {
	return &Publisher{js: js, source: source}
}

// Publish sends ev and returns once the stream stored it (or found it a
// duplicate). The returned ack says which.
func (p *Publisher) Publish(ctx context.Context, ev Event) (*jetstream.PubAck, error) {
	msg, err := p.Message(ctx, ev)
	if err != nil {
		return nil, err
	}
	ack, err := p.js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", ev.Subject, err)
	}
	return ack, nil
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
		ev.Type = contracts.EventType(contracts.PrefixOf(ev.Subject))
	}
	body, ok := ev.Data.([]byte)
	if !ok {
		var err error
		if body, err = json.Marshal(ev.Data); err != nil {
			return nil, fmt.Errorf("publish %s: encode body: %w", ev.Subject, err)
		}
	}
	h := map[string]string{
		HeaderSpecVersion: "1.0",
		HeaderID:          ev.ID,
		HeaderType:        ev.Type,
		HeaderSource:      p.source,
		HeaderTime:        ev.Time.Format(time.RFC3339Nano),
		HeaderContentType: "application/json",
		HeaderMsgID:       ev.ID,
	}
	if ev.DataSubject != "" {
		h[HeaderSubject] = ev.DataSubject
	}
	if ev.TenantID != "" {
		h[HeaderTenant] = ev.TenantID
	}
	InjectTrace(ctx, h)
	msg := nats.NewMsg(ev.Subject)
	msg.Data = body
	for k, v := range h {
		msg.Header.Set(k, headerSafe(v))
	}
	return msg, nil
}

// watermillPublisher lets Watermill middleware (the poison queue) publish
// through the hub's publisher. The topic is ignored for dead letters: their
// subject is derived from the original subject, so one DLQ keeps them apart.
type watermillPublisher struct {
	js jetstream.JetStream
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
		if _, err := w.js.PublishMsg(ctx, nm); err != nil {
			return fmt.Errorf("publish %s: %w", subject, err)
		}
	}
	return nil
}

// Close implements message.Publisher; the connection belongs to the Bus.
func (watermillPublisher) Close() error { return nil }
