package startup

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
)

// The waits between attempts to reach NATS at start: doubling from the
// first to the last, so a service started before NATS connects within
// about a second of it coming up, and a long outage costs one attempt
// every ConnectMaxWait.
const (
	ConnectFirstWait = 500 * time.Millisecond
	ConnectMaxWait   = 10 * time.Second
)

// connFailed is the event label of a failed attempt to connect at start.
const connFailed = "connect_failed"

// connEvents counts the bus connection's events by kind (bus.Conn*, and
// connect_failed at start): a fixed set of label values.
func connEvents(reg prometheus.Registerer) func(event string) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inthub_nats_connection_events_total",
		Help: "NATS connection events: connect_failed (at start), disconnected, reconnected, error, closed.",
	}, []string{"event"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
					c = existing
				}
			}
		}
	}
	for _, e := range []string{connFailed, bus.ConnDisconnected, bus.ConnReconnected, bus.ConnError, bus.ConnClosed} {
		c.WithLabelValues(e) // every series present from the start, at 0
	}
	return func(event string) { c.WithLabelValues(event).Inc() }
}

// connect opens the bus, waiting for NATS when it is not there yet: each
// failed attempt is logged and counted, and retried after a wait that
// doubles up to ConnectMaxWait, until it succeeds or ctx ends (ctx's
// error). A configuration that cannot work is not retried.
func connect(ctx context.Context, name string, cfg bus.Config, logger *slog.Logger, count func(string)) (*bus.Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wait := ConnectFirstWait
	for attempt := 1; ; attempt++ {
		b, err := bus.Open(ctx, cfg, logger)
		if err == nil {
			if attempt > 1 {
				logger.Info(name+" connected to NATS", "attempts", attempt)
			}
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		count(connFailed)
		logger.Warn(name+" waiting for NATS; not ready until it connects", "attempt", attempt, "retry_in", wait.String(), "error", err.Error())
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, ConnectMaxWait)
	}
}
