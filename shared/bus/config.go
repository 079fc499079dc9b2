// Package bus is the hub's event bus: Watermill over NATS JetStream. It owns
// the three streams (INTHUB_COMMANDS, INTHUB_EVENTS, INTHUB_DLQ), publishes
// CloudEvents with Nats-Msg-Id dedupe and W3C trace context, and runs durable,
// explicit-ack handlers whose poison messages end in INTHUB_DLQ.
package bus

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Stream names.
const (
	StreamCommands = "INTHUB_COMMANDS"
	StreamEvents   = "INTHUB_EVENTS"
	StreamDLQ      = "INTHUB_DLQ"
	// StreamAudit keeps the audit records of catalog and rule changes
	// (inthub.audit.<tenantId>.<resourceType>.<resourceId>).
	StreamAudit = "INTHUB_AUDIT"
)

// DLQPrefix prefixes the subject of a dead letter: inthub.dlq.<original subject>.
const DLQPrefix = "inthub.dlq"

// MinAckWait is the shortest AckWait: heartbeats go every AckWait/4, and
// shorter ones would be lost in scheduling noise.
const MinAckWait = time.Second

// Config is the bus configuration. Zero values take the defaults of
// DefaultConfig.
type Config struct {
	// URL of the NATS server(s), comma-separated.
	URL string
	// Options are extra connect options (an in-process server, a test's
	// handlers); they come after those Auth makes.
	Options []nats.Option
	// Auth is the service's NATS identity and TLS settings; zero connects
	// anonymously, without TLS unless the URL says tls://.
	Auth Auth
	// Name identifies the connection and is the CloudEvents source.
	Name string
	// Replicas of each stream (1 on a single server, 3 on a cluster).
	Replicas int
	// EventsMaxAge is how long events are kept for replay.
	EventsMaxAge time.Duration
	// EventsMaxBytes caps the events stream; -1 is unlimited.
	EventsMaxBytes int64
	// CommandsMaxAge drops commands nobody took in time.
	CommandsMaxAge time.Duration
	// DLQMaxAge is how long dead letters are kept for redrive.
	DLQMaxAge time.Duration
	// AuditMaxAge is how long audit records are kept; AuditMaxBytes caps
	// their stream (-1 unlimited), the oldest records going first.
	AuditMaxAge   time.Duration
	AuditMaxBytes int64
	// DuplicateWindow is the Nats-Msg-Id dedupe window.
	DuplicateWindow time.Duration
	// EndpointConcurrency is how many request-reply calls a service runs
	// at once (Service.Concurrency); 0 is DefaultEndpointConcurrency.
	EndpointConcurrency int
	// MaxDeliver is how many times a handler sees a message before it is
	// dead-lettered.
	MaxDeliver int
	// AckWait is how long the server waits for a sign of life from the
	// worker holding a message before it gives the message to another: a
	// worker heartbeats (in progress) every AckWait/4 while its handler
	// runs, so a long handler keeps its message and a killed worker's
	// messages move on after at most AckWait.
	AckWait time.Duration
	// HandlerTimeout bounds one handler call. It may exceed AckWait: the
	// heartbeats hold the message meanwhile.
	HandlerTimeout time.Duration
	// PublishTimeout bounds one attempt to publish and have the stream's
	// ack; a lost ack costs one PublishTimeout, not the caller's deadline.
	PublishTimeout time.Duration
	// PublishAttempts is how many times Publish tries (same Nats-Msg-Id, so
	// the stream stores the message once) before it gives up.
	PublishAttempts int
	// RedeliveryDelay is the first redelivery delay; it doubles per attempt up
	// to MaxRedeliveryDelay.
	RedeliveryDelay    time.Duration
	MaxRedeliveryDelay time.Duration
	// OnConnEvent, if set, is told each connection event (ConnDisconnected,
	// ConnReconnected, ConnError, ConnClosed) after it is logged: the
	// service's metrics.
	OnConnEvent func(event string)
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		URL:                nats.DefaultURL,
		Name:               "inthub",
		Replicas:           1,
		EventsMaxAge:       7 * 24 * time.Hour,
		EventsMaxBytes:     -1,
		CommandsMaxAge:     24 * time.Hour,
		DLQMaxAge:          30 * 24 * time.Hour,
		AuditMaxAge:        365 * 24 * time.Hour,
		AuditMaxBytes:      -1,
		DuplicateWindow:    2 * time.Minute,
		MaxDeliver:         5,
		AckWait:            8 * time.Second,
		HandlerTimeout:     45 * time.Second,
		PublishTimeout:     2 * time.Second,
		PublishAttempts:    5,
		RedeliveryDelay:    time.Second,
		MaxRedeliveryDelay: 30 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.URL == "" {
		c.URL = d.URL
	}
	if c.Name == "" {
		c.Name = d.Name
	}
	if c.Replicas == 0 {
		c.Replicas = d.Replicas
	}
	if c.EventsMaxAge == 0 {
		c.EventsMaxAge = d.EventsMaxAge
	}
	if c.EventsMaxBytes == 0 {
		c.EventsMaxBytes = d.EventsMaxBytes
	}
	if c.CommandsMaxAge == 0 {
		c.CommandsMaxAge = d.CommandsMaxAge
	}
	if c.DLQMaxAge == 0 {
		c.DLQMaxAge = d.DLQMaxAge
	}
	if c.AuditMaxAge == 0 {
		c.AuditMaxAge = d.AuditMaxAge
	}
	if c.AuditMaxBytes == 0 {
		c.AuditMaxBytes = d.AuditMaxBytes
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = d.DuplicateWindow
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = d.MaxDeliver
	}
	if c.AckWait == 0 {
		c.AckWait = d.AckWait
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = d.HandlerTimeout
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = d.PublishTimeout
	}
	if c.PublishAttempts == 0 {
		c.PublishAttempts = d.PublishAttempts
	}
	if c.RedeliveryDelay == 0 {
		c.RedeliveryDelay = d.RedeliveryDelay
	}
	if c.MaxRedeliveryDelay == 0 {
		c.MaxRedeliveryDelay = d.MaxRedeliveryDelay
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Replicas < 1 || c.Replicas > 5:
		return errors.New("bus: replicas must be 1..5")
	case c.MaxDeliver < 1:
		return errors.New("bus: max deliver must be at least 1")
	case c.AckWait < MinAckWait:
		return fmt.Errorf("bus: ack wait must be at least %s, or heartbeats cannot keep a running handler's message", MinAckWait)
	case c.HandlerTimeout <= 0 || c.PublishTimeout <= 0 || c.PublishAttempts < 1:
		return errors.New("bus: handler timeout, publish timeout and publish attempts must be positive")
	}
	return c.Auth.Validate()
}

// publishBound is the bound of one synchronous publish.
func (c Config) publishBound() publishBound {
	return publishBound{timeout: c.PublishTimeout, attempts: c.PublishAttempts}
}
