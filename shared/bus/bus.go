package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

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

// Connection events, logged and passed to Config.OnConnEvent (the event
// label of the start-up path's counter: a fixed, small set).
const (
	ConnDisconnected = "disconnected"
	ConnReconnected  = "reconnected"
	ConnError        = "error"
	ConnClosed       = "closed"
)

// Reconnection: forever, about every ReconnectWait plus up to
// ReconnectJitter, so replicas do not reconnect in step after a NATS
// restart and work resumes within seconds of NATS being back.
const (
	ReconnectWait   = time.Second
	ReconnectJitter = time.Second
)

func (b *Bus) dial(name string) (*nats.Conn, error) {
	auth, err := b.cfg.Auth.options()
	if err != nil {
		return nil, err
	}
	opts := append([]nats.Option{
		// Replies come to inboxes of the service's own (InboxPrefix): its
		// NATS identity may subscribe to those only.
		nats.Name(name), nats.CustomInboxPrefix(InboxPrefix(name)), nats.MaxReconnects(-1),
		nats.ReconnectWait(ReconnectWait), nats.ReconnectJitter(ReconnectJitter, ReconnectJitter),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				return // our own Close: ClosedHandler says so
			}
			b.connEvent(ConnDisconnected, slog.LevelWarn, "NATS disconnected; reconnecting", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.connEvent(ConnReconnected, slog.LevelInfo, "NATS reconnected", nil, "server", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			b.connEvent(ConnClosed, slog.LevelInfo, "NATS connection closed", nc.LastError())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			var attrs []any
			if sub != nil {
				attrs = append(attrs, "subject", sub.Subject)
			}
			b.connEvent(ConnError, slog.LevelWarn, "NATS error", err, attrs...)
		}),
	}, auth...)
	opts = append(opts, b.cfg.Options...)
	nc, err := nats.Connect(b.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", redactURLs(b.cfg.URL), err)
	}
	return nc, nil
}

// redactURLs hides the user information of NATS URLs (nats://user:pass@host)
// in what is logged: a start that waits for NATS logs the URL at every try.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = url.User("redacted")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// connEvent logs one connection event and reports it to OnConnEvent.
func (b *Bus) connEvent(event string, level slog.Level, msg string, err error, attrs ...any) {
	attrs = append(attrs, "connection", b.cfg.Name)
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	b.logger.Log(context.Background(), level, msg, attrs...)
	if b.cfg.OnConnEvent != nil {
		b.cfg.OnConnEvent(event)
	}
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
