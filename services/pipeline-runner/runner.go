// Package pipelinerunner is the pipeline-runner service: it triggers
// pipelines of CI/CD integrations on pipeline.trigger.requested, follows
// each run to its end by polling the provider, and publishes
// pipeline.run.started once, pipeline.run.changed once per status
// transition and pipeline.run.completed once per run.
//
// It owns the KV bucket pipeline-runs (one record per run, <tenantId>.<runId>).
// Every replica watches the bucket; a run in progress is followed by
// whichever replica holds its lease (a compare-and-set on the record), so
// when a replica stops, another takes its runs over once their leases
// expire.
package pipelinerunner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/pipelineruns"
	"github.com/stella-ops/inthub/shared/startup"
)

// Config configures the service. Zero values take the defaults.
type Config struct {
	Bus     bus.Config
	Logger  *slog.Logger
	Metrics prometheus.Registerer
	// Ready, if set, is closed once the service consumes.
	Ready chan<- struct{}
	// Catalog, when set, is the catalog view the process shares among its
	// services (devstack): the service follows it instead of watching the
	// integrations bucket into a view of its own.
	Catalog *catalog.View
	// Registry of providers; required.
	Registry *connectors.Registry
	// Resolver resolves the integrations' credential references.
	Resolver *credentials.Resolver
	// Policy is the operator's outbound address policy.
	Policy httpx.GuardPolicy
	// PollInterval is the first wait between two reads of a run (5 s); it
	// doubles while the run does not change, up to MaxPollInterval (60 s),
	// and starts again at a change.
	PollInterval    time.Duration
	MaxPollInterval time.Duration
	// LeaseTTL is how long a replica holds a run it follows (30 s): a
	// stopped replica's runs are taken over after it.
	LeaseTTL time.Duration
	// ProviderRate and ProviderBurst bound this replica's calls per
	// integration (2/s, burst 4), beneath the providers' rate limits.
	ProviderRate  rate.Limit
	ProviderBurst int
	// Workers is how many runs this replica reads at once (16).
	Workers int
	// MaxFailures is how many reads of a run in a row may fail before it is
	// completed as failed (20, with the backoff about half an hour).
	MaxFailures int
	// CallTimeout bounds one provider call (20 s, at most half the lease).
	CallTimeout time.Duration
	Clock       func() time.Time
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Resolver == nil {
		c.Resolver = &credentials.Resolver{}
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.MaxPollInterval < c.PollInterval {
		c.MaxPollInterval = max(60*time.Second, c.PollInterval)
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.ProviderRate == 0 {
		c.ProviderRate = 2
	}
	if c.ProviderBurst <= 0 {
		c.ProviderBurst = 4
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 20
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 20 * time.Second
	}
	c.CallTimeout = min(c.CallTimeout, c.LeaseTTL/2)
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// Version is the service's version, as its endpoints report it.
const Version = "0.1.0"

// Durable consumer names: replicas sharing them share the commands.
const (
	durableTrigger = "pipeline-runner-trigger"
	durableCancel  = "pipeline-runner-cancel"
)

// runEvents are the subjects a run's events go to.
var runEvents = []string{contracts.SubjectRunStarted + ".>", contracts.SubjectRunChanged + ".>", contracts.SubjectRunCompleted + ".>"}

// Routes is the pipeline-runner's route table.
func Routes() []bus.Route { return bus.Declared(routes(&runner{}, &reads{}, &hooks{})) }

// Access is what the pipeline-runner does on the bus, from which its NATS
// identity's permissions are derived.
func Access() bus.Access {
	return bus.Access{Service: "pipeline-runner", Routes: Routes(), Buckets: bus.BucketNames(buckets(1))}
}

// buckets are the runner's: the catalog it watches and its runs.
func buckets(replicas int) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas), RunsBucket(replicas)}
}

func routes(r *runner, rd *reads, h *hooks) []bus.Route {
	return []bus.Route{
		// A refused trigger ends its run at once: started, then completed.
		{Name: "pipeline-trigger", Stream: bus.StreamCommands, Subject: contracts.SubjectPipelineTrigger + ".>",
			Durable: durableTrigger, Concurrency: r.cfg.Workers, Handler: r.handleTrigger, Produces: runEvents},
		{Name: "pipeline-cancel", Stream: bus.StreamCommands, Subject: contracts.SubjectPipelineCancel + ".>",
			Durable: durableCancel, Concurrency: 4, Handler: r.handleCancel},
		// The follower is a source: it publishes what it reads of the runs.
		{Name: "pipeline-follow", Produces: runEvents},
		// Reads of the runs, for the API.
		bus.ReplyRoute(pipelineruns.SubjectGet, bus.Typed(rd.Get)),
		bus.ReplyRoute(pipelineruns.SubjectList, bus.Typed(rd.List)),
		// Providers' webhooks, relayed by the ingress.
		bus.ReplyRoute(pipelineruns.SubjectHook, bus.Typed(h.Receive)),
	}
}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Registry == nil {
		return errors.New("pipeline-runner: no provider registry")
	}
	return startup.Run(ctx, startup.Spec{
		Name: "pipeline-runner", Bus: cfg.Bus, Logger: cfg.Logger, Ready: startup.Closer(cfg.Ready), Metrics: cfg.Metrics,
		Buckets: buckets,
		Wire:    func(_ context.Context, w *startup.Wiring) error { return wire(w, cfg) },
	})
}

func wire(w *startup.Wiring, cfg Config) error {
	view := w.Catalog(cfg.Catalog)
	pool, stores := secrets.NewPool(secrets.PoolConfig{
		Registry: cfg.Registry, Base: cfg.Resolver, Policy: cfg.Policy,
		FindStore: view.FindStore, Clock: cfg.Clock, Logger: cfg.Logger,
	})
	w.Defer(pool.Close)
	w.OnChange(view, func(_ context.Context, c catalog.Change) {
		if c.Kind == catalog.Deleted {
			pool.Remove(c.TenantID, c.ID)
		}
	})
	r := &runner{
		cfg: cfg, logger: cfg.Logger, view: view, pool: pool,
		store: &runStore{js: w.Bus.JetStream(), kv: w.Bucket(BucketRuns)}, replica: uuid.NewString(),
		limits: newLimits(cfg.ProviderRate, cfg.ProviderBurst), active: newActive(), wake: make(chan struct{}, 1),
	}
	// Webhook secrets resolve as the connectors' credentials do, secret
	// stores included.
	resolver := *cfg.Resolver
	resolver.Stores = stores
	h := &hooks{logger: cfg.Logger, find: findIntegration(view), scheme: schemeOf(cfg.Registry), resolve: resolver.Resolve, due: r.makeDue}
	table := routes(r, &reads{store: r.store}, h)
	r.out = w.Bus.Publisher().For(table[2])
	w.Routes(table)
	w.Serve(bus.Service{
		Name: pipelineruns.ServiceName, Version: Version, Prefix: pipelineruns.SubjectPrefix,
		Description: "Integration Hub pipeline-runner: reads of pipeline runs, providers' webhooks", Routes: table,
	})
	replayed := make(chan struct{})
	w.Go("runs view", func(ctx context.Context) error {
		return catalog.Follow(ctx, w.Bucket(BucketRuns), r.active.apply, func() { close(replayed) })
	})
	w.Gate(replayed)
	w.Go("follow", r.follow)
	w.ReadyLog(func() []any { return []any{"replica", r.replica, "open_runs", r.active.len()} })
	return nil
}
