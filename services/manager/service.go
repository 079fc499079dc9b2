// Package manager is the catalog service: provider specs and integration
// instances, stored in the JetStream KV bucket "integrations" (the store of
// record), served on the bus as NATS request-reply (inthub.manager.*), and
// announced as integration.created/updated/deleted events.
package manager

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

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
	// Ready, if set, is closed once the endpoints are being served.
	Ready chan<- struct{}
}

// Routes is the manager's route table: the request-reply endpoints it
// serves and the lifecycle events each publishes.
func Routes() []bus.Route { return bus.Declared((&Catalog{}).routes()) }

// routes is the table with cat's handlers.
func (c *Catalog) routes() []bus.Route {
	return []bus.Route{
		bus.ReplyRoute(catalog.SubjectCreate, bus.Typed(c.Create), contracts.SubjectCreated+".>"),
		bus.ReplyRoute(catalog.SubjectGet, bus.Typed(c.Get)),
		bus.ReplyRoute(catalog.SubjectList, bus.Typed(c.List)),
		bus.ReplyRoute(catalog.SubjectReplace, bus.Typed(c.Replace), contracts.SubjectUpdated+".>"),
		bus.ReplyRoute(catalog.SubjectPatch, bus.Typed(c.Patch), contracts.SubjectUpdated+".>"),
		bus.ReplyRoute(catalog.SubjectDelete, bus.Typed(c.Delete), contracts.SubjectDeleted+".>"),
		bus.ReplyRoute(catalog.SubjectProvider, bus.Typed(func(_ context.Context, r catalog.ProvidersRequest) (contracts.ProviderList, error) {
			return c.Providers(r.IncludeTestOnly), nil
		})),
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
		Buckets: func(replicas int) []jetstream.KeyValueConfig {
			return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas)}
		},
		Wire: func(_ context.Context, w *startup.Wiring) error {
			b := w.Bus
			cat := &Catalog{registry: cfg.Registry, local: cfg.LocalPolicy, logger: logger, now: time.Now,
				store: &kvStore{js: b.JetStream(), kv: w.Bucket(catalog.BucketIntegrations)}}
			table := cat.routes()
			// The endpoints share one producer: it allows what any of
			// them declares.
			cat.pub = b.Publisher().For(bus.Merge("manager endpoints", table))
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
