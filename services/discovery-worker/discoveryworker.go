// Package discoveryworker is the discovery-worker service: it answers
// integration.discovery.requested from the discovery cache (Redis, or an
// in-process cache when no Redis is configured), walking the provider's
// pages on a miss, publishes integration.discovery.completed, and empties an
// integration's cache entries on integration.updated and .deleted.
package discoveryworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/discovery"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
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
	// RedisURL backs the discovery cache with Redis (shared by replicas);
	// empty means the in-process cache (one replica, `make run`), unless
	// Redis names a Sentinel or a Cluster instead.
	RedisURL string
	// Redis names a Sentinel-managed primary or a Redis Cluster (instead
	// of RedisURL).
	Redis cache.RedisServers
	// Cache, when set, is the discovery cache instead of one opened from
	// RedisURL or Redis: the devstack shares its in-process cache with the
	// ingress, which answers hits from it. The worker does not close it.
	Cache cache.Cache
	// CacheTTLs override the per-resource-type TTLs of cache.DefaultTTLs;
	// an integration's discoveryCacheTTLSeconds overrides both.
	CacheTTLs cache.TTLs
	// Workers is how many discoveries this replica runs at once (64).
	Workers int
	// Timeout bounds one walk of a provider's pages (30s); keep it below
	// the bus handler timeout.
	Timeout time.Duration
	// Retry is the retry policy of one provider call (by error code).
	Retry resilience.Policy
	// MaxItems cuts a result that would hold more resources (100000).
	MaxItems int
	Clock    func() time.Time
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
		c.Workers = 64
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Retry == (resilience.Policy{}) {
		c.Retry = resilience.Policy{InitialInterval: 200 * time.Millisecond, MaxInterval: 5 * time.Second, MaxElapsed: 20 * time.Second,
			MaxAttempts: 3, Multiplier: 2, RandomizationFactor: 0.5, MaxRetryAfter: 10 * time.Second}
	}
	if c.MaxItems <= 0 {
		c.MaxItems = 100000
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// Durable consumer names: replicas sharing them share the work.
const (
	durableRequests = "discovery-requests"
	durableUpdated  = "discovery-cache-updated"
	durableDeleted  = "discovery-cache-deleted"
)

// publishTimeout bounds the publish of one answer.
const publishTimeout = 5 * time.Second

// Routes is the discovery-worker's route table.
func Routes() []bus.Route { return bus.Declared((&service{}).routes()) }

// Access is what the discovery-worker does on the bus, from which its NATS
// identity's permissions are derived.
func Access() bus.Access {
	return bus.Access{Service: "discovery-worker", Routes: Routes(), Buckets: bus.BucketNames(buckets(1))}
}

// buckets are the worker's: the catalog it watches.
func buckets(replicas int) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas)}
}

// routes is the table with s's handlers.
func (s *service) routes() []bus.Route {
	return []bus.Route{
		{Name: "discovery", Stream: bus.StreamCommands, Subject: contracts.SubjectDiscoveryRequested + ".>",
			Durable: durableRequests, Concurrency: s.cfg.Workers, Handler: s.handleDiscover,
			Produces: []string{contracts.SubjectDiscoveryCompleted + ".>"}},
		{Name: "discovery-cache-updated", Stream: bus.StreamEvents, Subject: contracts.SubjectUpdated + ".>",
			Durable: durableUpdated, Concurrency: 4, DeliverNew: true, Handler: s.handleLifecycle("updated")},
		{Name: "discovery-cache-deleted", Stream: bus.StreamEvents, Subject: contracts.SubjectDeleted + ".>",
			Durable: durableDeleted, Concurrency: 4, DeliverNew: true, Handler: s.handleLifecycle("deleted")},
	}
}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Registry == nil {
		return errors.New("discovery-worker: no provider registry")
	}
	return startup.Run(ctx, startup.Spec{
		Name: "discovery-worker", Bus: cfg.Bus, Logger: cfg.Logger, Ready: startup.Closer(cfg.Ready), Metrics: cfg.Metrics,
		Buckets: buckets,
		Wire:    func(_ context.Context, w *startup.Wiring) error { return wire(w, cfg) },
	})
}

// wire builds the worker's parts on w.
func wire(w *startup.Wiring, cfg Config) error {
	b := w.Bus
	if limit := b.Config().HandlerTimeout * 3 / 4; cfg.Timeout > limit {
		// A walk must end before its handler does, to publish its answer.
		cfg.Timeout = limit
	}
	c := cfg.Cache
	if c == nil {
		var err error
		if c, err = openCache(cfg); err != nil {
			return err
		}
		w.Defer(func() { _ = c.Close() })
	}
	m := newMetrics(cfg.Metrics)
	view := w.Catalog(cfg.Catalog)
	pool, _ := secrets.NewPool(secrets.PoolConfig{
		Registry: cfg.Registry, Base: cfg.Resolver, Policy: cfg.Policy,
		FindStore: view.FindStore, Clock: cfg.Clock, Logger: cfg.Logger,
	})
	w.Defer(pool.Close)
	// A deleted integration's connector is closed.
	w.OnChange(view, func(_ context.Context, c catalog.Change) {
		if c.Kind == catalog.Deleted {
			pool.Remove(c.TenantID, c.ID)
		}
	})
	svc := &service{
		cfg: cfg, logger: cfg.Logger, metrics: m, view: view, cache: c, pool: pool,
		disc: &discoverer{
			registry: cfg.Registry, pool: pool, cache: c, ttls: cfg.CacheTTLs, retry: cfg.Retry, timeout: cfg.Timeout,
			maxItems: cfg.MaxItems, maxBytes: discovery.MaxPageBytes(b.Conn().MaxPayload()),
			now: cfg.Clock, metrics: m, logger: cfg.Logger,
		},
	}
	w.Routes(svc.routes())
	w.ReadyLog(func() []any {
		return []any{"integrations", view.Len(), "workers", cfg.Workers, "cache", cacheKind(cfg)}
	})
	return nil
}

// openCache returns Redis when configured, else the in-process cache.
func openCache(cfg Config) (cache.Cache, error) {
	m, err := cache.NewMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	if cfg.RedisURL == "" && !cfg.Redis.Set() {
		return cache.NewMemory(cache.MemoryOptions{Clock: cfg.Clock, Metrics: m}), nil
	}
	return cache.NewRedis(cache.RedisOptions{URL: cfg.RedisURL, Servers: cfg.Redis, Clock: cfg.Clock, Metrics: m, Logger: cfg.Logger})
}

func cacheKind(cfg Config) string {
	switch {
	case cfg.Cache != nil:
		return "shared with the ingress"
	case cfg.Redis.SentinelMaster != "":
		return "redis-sentinel"
	case len(cfg.Redis.ClusterAddrs) > 0:
		return "redis-cluster"
	case cfg.RedisURL == "" && !cfg.Redis.Set():
		return "in-process"
	}
	return "redis"
}

// service holds the running parts.
type service struct {
	cfg     Config
	logger  *slog.Logger
	metrics *metrics
	view    *catalog.View
	cache   cache.Cache
	pool    *runtime.Pool
	disc    *discoverer
}

// handleDiscover answers one integration.discovery.requested with one
// integration.discovery.completed carrying a page of the result or an error.
func (s *service) handleDiscover(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	cmd, err := bus.Decode[contracts.DiscoveryRequested](m)
	if err != nil {
		return err
	}
	if cmd.RequestID == "" || m.Subject != contracts.Subject(contracts.SubjectDiscoveryRequested, cmd.TenantID, cmd.IntegrationID) {
		// Without a request id nobody can match an answer; a body naming
		// another tenant than its subject is refused, not answered.
		return bus.Permanent(fmt.Errorf("discovery command on %s: requestId, tenantId and integrationId must match its subject", m.Subject))
	}
	done := contracts.DiscoveryCompleted{RequestID: cmd.RequestID, TenantID: cmd.TenantID, IntegrationID: cmd.IntegrationID}
	log := s.logger.With("tenant_id", cmd.TenantID, "integration_id", cmd.IntegrationID, "request_id", cmd.RequestID,
		"resource_type", cmd.Request.ResourceType)
	// A miss of the view reads the bucket (a create a moment ago, a watch
	// lagging after a reconnect); a bucket that cannot be read is retried,
	// never answered as not found.
	it, found, err := s.view.Lookup(ctx, cmd.TenantID, cmd.IntegrationID)
	if err != nil {
		return err
	}
	var derr error
	if !found {
		derr = resilience.New(resilience.IntegrationNotFound, "integration %s not found", cmd.IntegrationID)
	} else {
		log = log.With("provider", it.TypeID)
		res, err := s.disc.discover(ctx, it, cmd.Request)
		if err == nil {
			done.Result = &res
			log.DebugContext(ctx, "discovery answered", "items", len(res.Items), "cache_hit", res.CacheHit)
		}
		derr = err
	}
	if derr != nil {
		done.Error = errorBody(derr)
		level := slog.LevelWarn
		if isRequestError(derr) {
			level = slog.LevelInfo
		}
		log.Log(ctx, level, "discovery failed", "error_code", done.Error.Code, "error", done.Error.Message)
	}
	s.metrics.requests.WithLabelValues(errorCode(derr)).Inc()
	// The answer goes out even when the handler's time ran out (it then
	// says TIMEOUT): the caller is waiting for it.
	// Encoded here rather than by the publisher's json.Marshal: the same
	// bytes, written without reflection over the page's items.
	body, err := discovery.EncodeCompleted(done)
	if err != nil {
		return fmt.Errorf("encode the discovery answer: %w", err)
	}
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	_, err = out.Publish(pubCtx, bus.Event{
		ID: "discovery:" + cmd.RequestID, Subject: contracts.Subject(contracts.SubjectDiscoveryCompleted, cmd.TenantID, cmd.IntegrationID),
		TenantID: cmd.TenantID, DataSubject: cmd.IntegrationID, Data: body,
	})
	return err
}

// handleLifecycle empties the cache of an updated or deleted integration.
// A failure (Redis down) is redelivered; meanwhile entries of the old
// revision are never served, since an entry answers only its revision.
func (s *service) handleLifecycle(event string) bus.HandlerFunc {
	return func(ctx context.Context, m *bus.Message, _ *bus.Producer) error {
		ev, err := bus.Decode[contracts.LifecycleEvent](m)
		if err != nil {
			return err
		}
		if ev.TenantID == "" || ev.Integration.ID == "" {
			return bus.Permanent(fmt.Errorf("lifecycle event on %s without tenant or integration id", m.Subject))
		}
		if err := s.cache.Invalidate(ctx, ev.TenantID, ev.Integration.ID); err != nil {
			return err
		}
		s.metrics.invalidations.WithLabelValues(event).Inc()
		s.logger.InfoContext(ctx, "discovery cache invalidated", "tenant_id", ev.TenantID, "integration_id", ev.Integration.ID,
			"provider", ev.Integration.TypeID, "event", event, "revision", ev.Integration.Revision)
		return nil
	}
}
