package startup

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
)

// busStatsTimeout bounds the JetStream calls of one scrape: a scrape must
// answer even while NATS does not.
const busStatsTimeout = 2 * time.Second

// busCollector exports what only the server knows about a service's bus:
// whether the connection is up, each of the service's durable consumers'
// backlog (its lag) and the hub's streams' sizes (the DLQ's growing is an
// alert). It asks JetStream at scrape time, each series read fresh; before
// the bus is connected it exports inthub_nats_connected 0 and nothing else.
type busCollector struct {
	connected, pending, ackPending, redelivered, streamMsgs *prometheus.Desc

	mu        sync.Mutex
	bus       *bus.Bus
	consumers []bus.Route
}

func newBusCollector() *busCollector {
	consumer := []string{"stream", "consumer"}
	return &busCollector{
		connected: prometheus.NewDesc("inthub_nats_connected",
			"1 while the service's NATS connection is up, 0 while it is not (not yet connected, or reconnecting).", nil, nil),
		pending: prometheus.NewDesc("inthub_bus_consumer_pending_messages",
			"Messages of the stream a durable consumer of this service has not delivered yet: its lag.", consumer, nil),
		ackPending: prometheus.NewDesc("inthub_bus_consumer_ack_pending_messages",
			"Messages delivered to a durable consumer of this service and not acknowledged yet (in work, or their worker stopped).", consumer, nil),
		redelivered: prometheus.NewDesc("inthub_bus_consumer_redelivered_messages",
			"Messages of a durable consumer of this service delivered more than once and not acknowledged yet.", consumer, nil),
		streamMsgs: prometheus.NewDesc("inthub_bus_stream_messages",
			"Messages held by each of the hub's streams (INTHUB_COMMANDS, INTHUB_EVENTS, INTHUB_DLQ).", []string{"stream"}, nil),
	}
}

// register adds c to reg; a registry that already has it (a service run
// twice on one registry, in tests) keeps the first.
func (c *busCollector) register(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err) // two collectors claiming one name is a programming error
		}
	}
}

// attach points c at the connected bus and the service's stream routes.
func (c *busCollector) attach(b *bus.Bus, routes []bus.Route) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bus, c.consumers = b, routes
}

func (c *busCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connected, c.pending, c.ackPending, c.redelivered, c.streamMsgs} {
		ch <- d
	}
}

func (c *busCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	b, routes := c.bus, c.consumers
	c.mu.Unlock()
	up := 0.0
	if b != nil && b.Conn().IsConnected() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, up)
	if up == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), busStatsTimeout)
	defer cancel()
	js := b.JetStream()
	seen := map[string]bool{}
	for _, r := range routes {
		key := r.Stream + "/" + r.Durable
		if seen[key] {
			continue
		}
		seen[key] = true
		cons, err := js.Consumer(ctx, r.Stream, r.Durable)
		if err != nil {
			continue // not created yet, or NATS slow: no sample rather than a wrong one
		}
		info, err := cons.Info(ctx)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.NumPending), r.Stream, r.Durable)
		ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(info.NumAckPending), r.Stream, r.Durable)
		ch <- prometheus.MustNewConstMetric(c.redelivered, prometheus.GaugeValue, float64(info.NumRedelivered), r.Stream, r.Durable)
	}
	for _, name := range []string{bus.StreamCommands, bus.StreamEvents, bus.StreamDLQ} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			continue
		}
		info, err := s.Info(ctx)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.streamMsgs, prometheus.GaugeValue, float64(info.State.Msgs), name)
	}
}
