// Package manager is the catalog service: provider specs and integration
// instances, stored in the JetStream KV bucket "integrations" (the store of
// record), served on the bus as NATS request-reply (inthub.manager.*), and
// announced from the bucket's own stream as integration.created/updated/
// deleted events (the lifecycle outbox).
package manager

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/startup"
)

// Version is the service version reported by nats micro discovery.
const Version = "0.1.0"

// Config configures the manager.
type Config struct {
	Bus      bus.Config
	Registry *connectors.Registry
	Logger   *slog.Logger
	Metrics  prometheus.Registerer
	// LocalPolicy says which env:// and file:// references each tenant may
	// save (the same policy the resolving services enforce); the zero
	// policy lets no tenant save any.
	LocalPolicy credentials.LocalPolicy
	// StoreTimeout bounds each call to a KV bucket (default
	// DefaultStoreTimeout).
	StoreTimeout time.Duration
	// Ready, if set, is closed once the endpoints are being served.
	Ready chan<- struct{}

	// Set by tests only (export_test.go): where to crash, and the outbox's
	// ack wait.
	crashAt       string
	crashNth      int
	outboxAckWait time.Duration
	wrapKV        func(jetstream.KeyValue) jetstream.KeyValue
}

// Routes is the manager's route table: the request-reply endpoints it
// serves and the outbox that publishes the lifecycle events.
func Routes() []bus.Route { return bus.Declared((&Catalog{}).routes()) }

// outboxRoute is the lifecycle outbox's line: a source (it reads the
// bucket's stream with a durable consumer of its own, not a hub stream)
// that publishes the lifecycle events, after looking in INTHUB_EVENTS for
// an event already published.
var outboxRoute = bus.Route{Name: "lifecycle outbox", Produces: []string{
	contracts.SubjectCreated + ".>", contracts.SubjectUpdated + ".>", contracts.SubjectDeleted + ".>",
}, Reads: []string{streamName, bus.StreamEvents}}

// Access is what the manager does on the bus, from which its NATS
// identity's permissions are derived.
func Access() bus.Access {
	return bus.Access{Service: "manager", Routes: Routes(), Buckets: bus.BucketNames(buckets(1))}
}

// buckets are the manager's: the catalog it keeps and the idempotency keys.
func buckets(replicas int) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas), IdempotencyBucket(replicas)}
}

// withHealth is an endpoint that answers integrations with their health,
// read from the health-scheduler's bucket.
func withHealth(r bus.Route) bus.Route {
	r.Reads = append(r.Reads, bus.KVStream(catalog.BucketHealth))
	return r
}

// auditRoute is the outbox's other line: the audit record of each change,
// written before its lifecycle event.
var auditRoute = audit.Route("integration audit")

// routes is the table with cat's handlers.
func (c *Catalog) routes() []bus.Route {
	return []bus.Route{
		bus.ReplyRoute(catalog.SubjectCreate, bus.Typed(c.createEndpoint)),
		withHealth(bus.ReplyRoute(catalog.SubjectGet, bus.Typed(c.Get))),
		withHealth(bus.ReplyRoute(catalog.SubjectList, bus.Typed(c.List))),
		withHealth(bus.ReplyRoute(catalog.SubjectReplace, bus.Typed(c.Replace))),
		withHealth(bus.ReplyRoute(catalog.SubjectPatch, bus.Typed(c.Patch))),
		bus.ReplyRoute(catalog.SubjectDelete, bus.Typed(c.Delete)),
		bus.ReplyRoute(catalog.SubjectProvider, bus.Typed(func(_ context.Context, r catalog.ProvidersRequest) (contracts.ProviderList, error) {
			return c.Providers(r.IncludeTestOnly), nil
		})),
		outboxRoute,
		auditRoute,
	}
}

// Run serves the catalog until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Registry == nil {
		return errors.New("manager: no provider registry")
	}
	return startup.Run(ctx, startup.Spec{
		Name: "manager", Bus: cfg.Bus, Logger: logger, Ready: startup.Closer(cfg.Ready), Metrics: cfg.Metrics,
		Buckets: buckets,
		Wire: func(ctx context.Context, w *startup.Wiring) error {
			b := w.Bus
			timeout := cmp.Or(cfg.StoreTimeout, DefaultStoreTimeout)
			kv := w.Bucket(catalog.BucketIntegrations)
			if cfg.wrapKV != nil {
				kv = cfg.wrapKV(kv)
			}
			store := &kvStore{js: b.JetStream(), kv: kv, timeout: timeout}
			var crash *crasher
			if cfg.crashAt != "" {
				crash = &crasher{point: cfg.crashAt, nth: cfg.crashNth, kill: b.Conn().Close}
			}
			out := &outbox{js: b.JetStream(), events: bus.NewLastID(b.JetStream(), bus.StreamEvents), store: store, pub: b.Publisher().For(outboxRoute), logger: logger,
				audit:   audit.NewWriter(b.JetStream(), b.Publisher().For(auditRoute)),
				ackWait: cmp.Or(cfg.outboxAckWait, outboxAckWait), crash: crash}
			// The consumer exists before the first write is served, so no
			// change is stored unseen.
			if err := out.ensure(ctx); err != nil {
				return err
			}
			w.Go("lifecycle outbox", out.run)
			cat := &Catalog{registry: cfg.Registry, local: cfg.LocalPolicy, logger: logger, now: time.Now,
				store: store, outbox: out, crash: crash,
				keys: &keyStore{kv: w.Bucket(BucketIdempotency), timeout: timeout}}
			table := cat.routes()
			w.Routes(table)
			w.Serve(bus.Service{
				Name: catalog.ServiceName, Version: Version, Prefix: catalog.SubjectPrefix,
				Description: "Integration Hub catalog: providers and integrations",
				Routes:      table, Observe: newMetrics(cfg.Metrics).observe,
			})
			w.ReadyLog(func() []any {
				return []any{"subjects", catalog.SubjectPrefix + ".>", "providers", len(cfg.Registry.Specs())}
			})
			return nil
		},
	})
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inthub_manager_requests_total", Help: "Catalog requests by endpoint and result code.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "inthub_manager_request_duration_seconds", Help: "Catalog request latency.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"endpoint"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

// observe records one request.
func (m *metrics) observe(endpoint, code string, took time.Duration) {
	m.requests.WithLabelValues(endpoint, code).Inc()
	m.duration.WithLabelValues(endpoint).Observe(took.Seconds())
}
