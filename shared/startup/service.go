// Package startup is the one start-up path of the hub's services, in the
// spirit of Grafana Mimir's modules: a service declares what it needs (its
// buckets, its route table, its request-reply endpoints, the background
// tasks and views its readiness waits for) and Run does the rest, the same
// way for every service: connect the bus and ensure the streams, ensure the
// buckets, run the stream routes on a router, wait until everything is
// caught up, serve the endpoints, say ready, and on the way out stop in the
// reverse order, letting handlers finish what they took before the
// connection closes. Main is the process around it: settings, logging,
// metrics listener, signals and exit codes.
package startup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
)

// Spec is what a service declares.
type Spec struct {
	// Name names the service in logs and errors ("health-scheduler").
	Name   string
	Bus    bus.Config
	Logger *slog.Logger
	// Buckets are created (or updated to the same definition, so start
	// order does not matter) before Wire runs; Wiring.Bucket returns them.
	Buckets func(replicas int) []jetstream.KeyValueConfig
	// Wire builds the service's parts on the open bus and declares, on w,
	// its routes, endpoints, tasks and what readiness waits for.
	Wire func(ctx context.Context, w *Wiring) error
	// Ready, if set, is called once the service consumes and serves.
	Ready func()
	// Start, if set, runs from the beginning, before the bus is connected,
	// for the life of the service: what must answer while the service
	// waits for NATS (the ingress's HTTP listener, whose /readyz says not
	// ready until then). An error it returns stops the service.
	Start func(ctx context.Context) error
	// Metrics registers the count of the bus connection's events
	// (inthub_nats_connection_events_total), whether the connection is up
	// and the service's consumers' lag (busmetrics.go); nil: not exported.
	Metrics prometheus.Registerer
}

// Wiring is what Wire declares a service's particular parts on.
type Wiring struct {
	// Bus is the service's connection, with the streams in place.
	Bus    *bus.Bus
	Logger *slog.Logger

	buckets   map[string]jetstream.KeyValue
	routes    []bus.Route
	endpoints []bus.Service
	tasks     []task
	gates     []<-chan struct{}
	closers   []func()
	readyLog  func() []any
}

type task struct {
	name string
	run  func(context.Context) error
}

// Bucket returns a bucket of Spec.Buckets by name (nil if not declared).
func (w *Wiring) Bucket(name string) jetstream.KeyValue { return w.buckets[name] }

// Routes declares the service's route table. Its stream routes run on one
// router, each handler with a producer limited to what its route declares;
// the other lines (endpoints, sources) are declarations only.
func (w *Wiring) Routes(table []bus.Route) {
	for _, r := range table {
		if r.Consumes() {
			w.routes = append(w.routes, r)
		}
	}
}

// Serve declares request-reply endpoints, served once the service is caught
// up (its router running and its gates open).
func (w *Wiring) Serve(s bus.Service) { w.endpoints = append(w.endpoints, s) }

// Go runs fn for the life of the service. An error it returns while the
// service runs stops the service with that error; it must return when its
// context ends.
func (w *Wiring) Go(name string, fn func(context.Context) error) {
	w.tasks = append(w.tasks, task{name: name, run: fn})
}

// Gate makes readiness wait until ready is closed.
func (w *Wiring) Gate(ready <-chan struct{}) { w.gates = append(w.gates, ready) }

// Watch keeps view current from kv for the life of the service; readiness
// waits for its replay of the bucket.
func (w *Wiring) Watch(view *catalog.View, kv jetstream.KeyValue) {
	w.Go("catalog view", func(ctx context.Context) error { return view.Watch(ctx, kv) })
	w.Gate(view.Ready())
}

// Catalog returns the catalog view the service reads. shared, when not
// nil, is the one view its process keeps for every service in it (the
// all-in-one: one watch and one decoded catalog instead of one per
// service); readiness waits for its replay. Otherwise (a service in a
// process of its own) the service watches the integrations bucket, which
// its Spec.Buckets must declare, into a view of its own.
func (w *Wiring) Catalog(shared *catalog.View) *catalog.View {
	if shared != nil {
		w.Gate(shared.Ready())
		return shared
	}
	view := catalog.NewView()
	w.Watch(view, w.Bucket(catalog.BucketIntegrations))
	return view
}

// OnChange calls fn for every change of view for the life of the service,
// the view's replay first (View.Subscribe); readiness waits until fn has
// had the replay.
func (w *Wiring) OnChange(view *catalog.View, fn func(context.Context, catalog.Change)) {
	ready := make(chan struct{})
	w.Go("catalog changes", func(ctx context.Context) error { return view.Subscribe(ctx, ready, fn) })
	w.Gate(ready)
}

// Defer runs fn after the service stopped (its handlers and tasks done),
// before the bus closes; deferred functions run in reverse order.
func (w *Wiring) Defer(fn func()) { w.closers = append(w.closers, fn) }

// ReadyLog gives the attributes of the "<name> ready" log line, read when
// the service becomes ready.
func (w *Wiring) ReadyLog(attrs func() []any) { w.readyLog = attrs }

// Closer returns a Spec.Ready that closes ch, or nil for a nil ch: the
// Ready channel of a service's Config.
func Closer(ch chan<- struct{}) func() {
	if ch == nil {
		return nil
	}
	return func() { close(ch) }
}

// Run starts the service s declares and serves until ctx ends (nil) or a
// part of it fails (that error). When NATS is not reachable yet it waits
// for it (logged, retried with backoff, not ready meanwhile); once
// connected it rides out disconnects, reconnecting forever.
func Run(ctx context.Context, s Spec) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if s.Wire == nil {
		return fmt.Errorf("%s: nothing to run", s.Name)
	}
	g := NewGroup(ctx)
	defer g.Stop()
	if s.Start != nil {
		g.Go("start", s.Start)
	}
	count := connEvents(s.Metrics)
	stats := newBusCollector()
	stats.register(s.Metrics)
	cfg := s.Bus
	cfg.OnConnEvent = count
	b, err := connect(g.Context(), s.Name, cfg, logger, count)
	if err != nil {
		if gerr := g.Err(); gerr != nil {
			return gerr
		}
		if ctx.Err() != nil {
			return nil // stopped while waiting for NATS
		}
		return err
	}
	defer b.Close()
	ctx = g.Context()
	w := &Wiring{Bus: b, Logger: logger, buckets: map[string]jetstream.KeyValue{}}
	if s.Buckets != nil {
		for _, kvc := range s.Buckets(b.Config().Replicas) {
			kv, err := ensureBucket(ctx, b.JetStream(), kvc)
			if err != nil {
				return fmt.Errorf("%s bucket: %w", kvc.Bucket, err)
			}
			w.buckets[kvc.Bucket] = kv
		}
	}
	defer func() {
		for i := len(w.closers) - 1; i >= 0; i-- {
			w.closers[i]()
		}
	}()
	if err := s.Wire(ctx, w); err != nil {
		return err
	}
	stats.attach(b, w.routes)
	// The collector may outlive the bus (a registry kept across restarts
	// in tests): it must not ask a closed connection.
	defer stats.attach(nil, nil)
	return w.run(g, s, logger)
}

// run starts the router and the tasks, waits until the service is caught
// up, serves its endpoints and waits for the end.
func (w *Wiring) run(g *Group, s Spec, logger *slog.Logger) error {
	var router *bus.Router
	if len(w.routes) > 0 {
		var err error
		if router, err = w.Bus.NewRouter(); err != nil {
			return err
		}
		for _, r := range w.routes {
			if err := router.Handle(r); err != nil {
				return fmt.Errorf("route %s: %w", r.Name, err)
			}
		}
	}
	ctx := g.Context()
	// On the way out, let the router finish the messages it took (and ack
	// them) and the tasks end before the connection closes.
	defer g.Stop()
	for _, t := range w.tasks {
		g.Go(t.name, t.run)
	}
	running := make(chan struct{})
	if router != nil {
		g.Go("router", func(ctx context.Context) error {
			if err := router.Run(ctx); err != nil || ctx.Err() != nil {
				return err
			}
			return errors.New("stopped")
		})
		running = router.Running()
	} else {
		close(running)
	}
	for _, gate := range append([]<-chan struct{}{running}, w.gates...) {
		select {
		case <-gate:
		case <-ctx.Done():
			return g.Err()
		}
	}
	for _, ep := range w.endpoints {
		if ep.Logger == nil {
			ep.Logger = logger
		}
		if ep.Concurrency == 0 {
			ep.Concurrency = w.Bus.Config().EndpointConcurrency
		}
		svc, err := bus.Serve(w.Bus.Conn(), ep)
		if err != nil {
			return err
		}
		defer func() { _ = svc.Stop() }()
	}
	var attrs []any
	if w.readyLog != nil {
		attrs = w.readyLog()
	}
	logger.Info(s.Name+" ready", attrs...)
	if s.Ready != nil {
		s.Ready()
	}
	<-ctx.Done()
	return g.Err()
}

// ensureBucket creates the bucket, or leaves it alone when it already has
// this configuration, and updates it only when it differs (a bucket an
// older version declared otherwise). Every service of a process declares
// the buckets it uses at start: updating a bucket that already matches
// races, in nats-server (v2.15), with a consumer another service is
// creating on it (fileStore.UpdateConfig writes what ConsumerStore reads
// unlocked), as EnsureStreams notes for the streams.
func ensureBucket(ctx context.Context, js jetstream.JetStream, kvc jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, kvc)
	if errors.Is(err, jetstream.ErrBucketExists) {
		return js.UpdateKeyValue(ctx, kvc)
	}
	return kv, err
}
