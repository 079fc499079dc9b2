package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bus is a connection to JetStream with the hub's streams in place.
type Bus struct {
	cfg    Config
	nc     *nats.Conn
	js     jetstream.JetStream
	pub    *Publisher
	logger *slog.Logger
}

// Open connects, ensures the streams and returns the bus.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Bus, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	b := &Bus{cfg: cfg, logger: logger}
	nc, err := b.dial(cfg.Name)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := EnsureStreams(ctx, js, cfg); err != nil {
		nc.Close()
		return nil, err
	}
	b.nc, b.js = nc, js
	b.pub = &Publisher{js: js, source: "inthub/" + cfg.Name, bound: cfg.publishBound()}
	return b, nil
}

func (b *Bus) dial(name string) (*nats.Conn, error) {
	opts := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1)}, b.cfg.Options...)
	nc, err := nats.Connect(b.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", b.cfg.URL, err)
	}
	return nc, nil
}

// Conn returns the NATS connection (request-reply, KV).
func (b *Bus) Conn() *nats.Conn { return b.nc }

// JetStream returns the JetStream context.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Publisher returns the CloudEvents publisher.
func (b *Bus) Publisher() *Publisher { return b.pub }

// Config returns the effective configuration.
func (b *Bus) Config() Config { return b.cfg }

// Logger returns the bus's logger.
func (b *Bus) Logger() *slog.Logger { return b.logger }

// Close drains the connection.
func (b *Bus) Close() error {
	if b.nc == nil {
		return nil
	}
	return b.nc.Drain()
}

// Decode unmarshals m's JSON body into T. A body that does not decode is a
// permanent error: redelivering it can never help.
func Decode[T any](m *Message) (T, error) {
	var v T
	if err := json.Unmarshal(m.Data, &v); err != nil {
		return v, Permanent(fmt.Errorf("decode %s body: %w", m.Subject, err))
	}
	return v, nil
}
