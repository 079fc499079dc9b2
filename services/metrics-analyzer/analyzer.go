// Package metricsanalyzer is the metrics-analyzer service: it answers
// metrics.query.requested with metrics.query.completed, running the query
// through the integration's metrics connector and answering in the one
// normalized shape of every provider, and it owns analysis runs
// (analysis.run.requested, analysis.run.cancel.requested): it measures
// their metrics on schedule, publishes analysis.run.measured per
// measurement and analysis.run.completed once per run, keeping each run in
// its own bucket so that whichever replica is alive carries it on.
package metricsanalyzer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/analysisruns"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/startup"
)

// Config configures the service. Zero values take the defaults.
type Config struct {
	Bus      bus.Config
	Logger   *slog.Logger
	Metrics  prometheus.Registerer
	Registry *connectors.Registry
	Resolver *credentials.Resolver
	// Policy is the operator's outbound address policy.
	Policy httpx.GuardPolicy
	// Workers is how many queries this replica runs at once (16).
	Workers int
	// Timeout bounds one query of a provider (20s); kept below the bus
	// handler timeout.
	Timeout time.Duration
	// Tick is how often the scheduler looks for due measurements (1s).
	Tick  time.Duration
	Clock func() time.Time
	// Ready, if set, is closed once the service consumes.
	Ready chan<- struct{}
	// Catalog, when set, is the catalog view the process shares among its
	// services (devstack): the service follows it instead of watching the
	// integrations bucket into a view of its own.
	Catalog *catalog.View
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Resolver == nil {
		c.Resolver = &credentials.Resolver{}
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.Timeout <= 0 {
		c.Timeout = 20 * time.Second
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// Durable consumer names: replicas sharing them share the work.
const (
	durableQueries = "metrics-queries"
	durableRuns    = "analysis-runs"
	durableCancels = "analysis-cancels"
)

// publishTimeout bounds the publish of one answer.
const publishTimeout = 5 * time.Second

// Routes is the metrics-analyzer's route table.
func Routes() []bus.Route { return bus.Declared((&service{}).routes()) }

// Access is what the metrics-analyzer does on the bus, from which its NATS
// identity's permissions are derived.
func Access() bus.Access {
	return bus.Access{Service: "metrics-analyzer", Routes: Routes(), Buckets: bus.BucketNames(buckets(1))}
}

// buckets are the analyzer's: the catalog it watches and its runs.
func buckets(replicas int) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas), AnalysisRunsBucket(replicas)}
}

// routes is the table with s's handlers.
func (s *service) routes() []bus.Route {
	return []bus.Route{
		{Name: "metrics-query", Stream: bus.StreamCommands, Subject: contracts.SubjectMetricsQueryRequest + ".>",
			Durable: durableQueries, Concurrency: s.cfg.Workers, Handler: s.handleQuery,
			Produces: []string{contracts.SubjectMetricsQueryDone + ".>"}},
		{Name: "analysis-run", Stream: bus.StreamCommands, Subject: contracts.SubjectAnalysisRequested + ".>",
			Durable: durableRuns, Concurrency: 4, Handler: s.handleRunRequested},
		{Name: "analysis-cancel", Stream: bus.StreamCommands, Subject: contracts.SubjectAnalysisCancel + ".>",
			Durable: durableCancels, Concurrency: 4, Handler: s.handleCancel},
		schedulerRoute,
		bus.ReplyRoute(analysisruns.SubjectCreate, bus.Typed(s.createRun)),
		bus.ReplyRoute(analysisruns.SubjectGet, bus.Typed(s.getRun)),
		bus.ReplyRoute(analysisruns.SubjectCancel, bus.Typed(s.cancelRun)),
	}
}

// schedulerRoute is the source that publishes the runs' measurements and
// verdicts.
var schedulerRoute = bus.Route{Name: "analysis-scheduler",
	Produces: []string{contracts.SubjectAnalysisMeasured + ".>", contracts.SubjectAnalysisCompleted + ".>"}}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Registry == nil {
		return errors.New("metrics-analyzer: no provider registry")
	}
	return startup.Run(ctx, startup.Spec{
		Name: "metrics-analyzer", Bus: cfg.Bus, Logger: cfg.Logger, Ready: startup.Closer(cfg.Ready), Metrics: cfg.Metrics,
		Buckets: buckets,
		Wire:    func(_ context.Context, w *startup.Wiring) error { return wire(w, cfg) },
	})
}

// wire builds the service's parts on w.
func wire(w *startup.Wiring, cfg Config) error {
	if limit := w.Bus.Config().HandlerTimeout * 3 / 4; cfg.Timeout > limit {
		// A query must end before its handler does, to publish its answer.
		cfg.Timeout = limit
	}
	view := w.Catalog(cfg.Catalog)
	pool, _ := secrets.NewPool(secrets.PoolConfig{
		Registry: cfg.Registry, Base: cfg.Resolver, Policy: cfg.Policy,
		FindStore: view.FindStore, Clock: cfg.Clock, Logger: cfg.Logger,
	})
	w.Defer(pool.Close)
	w.OnChange(view, func(_ context.Context, c catalog.Change) {
		if c.Kind == catalog.Deleted {
			pool.Remove(c.TenantID, c.ID)
		}
	})
	svc := &service{cfg: cfg, logger: cfg.Logger, view: view, pool: pool,
		js: w.Bus.JetStream(), runs: w.Bucket(BucketAnalysisRuns), out: w.Bus.Publisher().For(schedulerRoute), wake: make(chan struct{}, 1)}
	table := svc.routes()
	w.Routes(table)
	w.Go("analysis-scheduler", svc.schedule)
	w.Serve(bus.Service{
		Name: analysisruns.ServiceName, Version: "0.1.0", Prefix: analysisruns.SubjectPrefix,
		Description: "Integration Hub metrics-analyzer: analysis runs", Routes: table, Logger: cfg.Logger,
	})
	w.ReadyLog(func() []any { return []any{"integrations", view.Len(), "workers", cfg.Workers} })
	return nil
}

// service holds the running parts.
type service struct {
	cfg    Config
	logger *slog.Logger
	view   *catalog.View
	pool   *runtime.Pool
	// runs is the analysis-runs bucket (listed through js); out the
	// scheduler's producer; wake asks the scheduler to look now.
	js   jetstream.JetStream
	runs jetstream.KeyValue
	out  *bus.Producer
	wake chan struct{}
}
