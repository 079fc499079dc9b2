// Package bus is the hub's event bus: Watermill over NATS JetStream. It owns
// the three streams (INTHUB_COMMANDS, INTHUB_EVENTS, INTHUB_DLQ), publishes
// CloudEvents with Nats-Msg-Id dedupe and W3C trace context, and runs durable,
// explicit-ack handlers whose poison messages end in INTHUB_DLQ.
package bus

import (
	"errors"
	"time"

	"github.com/nats-io/nats.go"
)

// Stream names.
const (
	StreamCommands = "INTHUB_COMMANDS"
	StreamEvents   = "INTHUB_EVENTS"
	StreamDLQ      = "INTHUB_DLQ"
)

// DLQPrefix prefixes the subject of a dead letter: inthub.dlq.<original subject>.
const DLQPrefix = "inthub.dlq"

// Config is the bus configuration. Zero values take the defaults of
// DefaultConfig.
type Config struct {
	// URL of the NATS server(s), comma-separated.
	URL string
	// Options are extra connect options (credentials, an in-process server).
	Options []nats.Option
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
	// DuplicateWindow is the Nats-Msg-Id dedupe window.
	DuplicateWindow time.Duration
	// EndpointConcurrency is how many request-reply calls a service runs
	// at once (Service.Concurrency); 0 is DefaultEndpointConcurrency.
	EndpointConcurrency int
	// MaxDeliver is how many times a handler sees a message before it is
	// dead-lettered.
	MaxDeliver int
	// AckWait is how long the server waits for an ack; above every handler's
	// timeout.
	AckWait time.Duration
	// HandlerTimeout bounds one handler call.
	HandlerTimeout time.Duration
	// RedeliveryDelay is the first redelivery delay; it doubles per attempt up
	// to MaxRedeliveryDelay.
	RedeliveryDelay    time.Duration
	MaxRedeliveryDelay time.Duration
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
		DuplicateWindow:    2 * time.Minute,
		MaxDeliver:         5,
		AckWait:            60 * time.Second,
		HandlerTimeout:     45 * time.Second,
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
	case c.HandlerTimeout >= c.AckWait:
		return errors.New("bus: handler timeout must be below ack wait, or a slow handler's message is redelivered while it still runs")
	}
	return nil
}
