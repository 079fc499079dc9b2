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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
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
	// empty means the in-process cache (one replica, `make run`).
	RedisURL string
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
	// ViewWait is how long a command waits for an integration the catalog
	// view has not seen yet (2s).
	ViewWait time.Duration
	Clock    func() time.Time
	// Ready, if set, is closed once the service consumes.
	Ready chan<- struct{}
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
	if c.ViewWait <= 0 {
		c.ViewWait = 2 * time.Second
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

// envelopeBytes is kept free in a bus message for the headers and the
// completion event around a page of items.
const envelopeBytes = 64 << 10

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Registry == nil {
		return errors.New("discovery-worker: no provider registry")
	}
	b, err := bus.Open(ctx, cfg.Bus, cfg.Logger)
	if err != nil {
		return err
	}
	defer b.Close()
	if limit := b.Config().HandlerTimeout * 3 / 4; cfg.Timeout > limit {
		// A walk must end before its handler does, to publish its answer.
		cfg.Timeout = limit
	}
	integrations, err := b.JetStream().CreateOrUpdateKeyValue(ctx, catalog.IntegrationsBucket(b.Config().Replicas))
	if err != nil {
		return fmt.Errorf("integrations bucket: %w", err)
	}
	c, err := openCache(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	m := newMetrics(cfg.Metrics)
	view := newCatalogView()
	pool, _ := secrets.NewPool(secrets.PoolConfig{
		Registry: cfg.Registry, Base: cfg.Resolver, Policy: cfg.Policy,
		FindStore: view.findStore, Clock: cfg.Clock, Logger: cfg.Logger,
	})
	defer pool.Close()
	svc := &service{
		cfg: cfg, bus: b, logger: cfg.Logger, metrics: m, view: view, cache: c, pool: pool,
		disc: &discoverer{
			registry: cfg.Registry, pool: pool, cache: c, ttls: cfg.CacheTTLs, retry: cfg.Retry, timeout: cfg.Timeout,
			maxItems: cfg.MaxItems, maxBytes: max(int(b.Conn().MaxPayload())-envelopeBytes, envelopeBytes),
			now: cfg.Clock, metrics: m, logger: cfg.Logger,
		},
	}

	router, err := b.NewRouter()
	if err != nil {
		return err
	}
	routes := []struct {
		route   bus.Route
		handler bus.HandlerFunc
	}{
		{bus.Route{Name: "discovery", Stream: bus.StreamCommands, Subject: contracts.SubjectDiscoveryRequested + ".>",
			Durable: durableRequests, Concurrency: cfg.Workers}, svc.handleDiscover},
		{bus.Route{Name: "discovery-cache-updated", Stream: bus.StreamEvents, Subject: contracts.SubjectUpdated + ".>",
			Durable: durableUpdated, Concurrency: 4, DeliverNew: true}, svc.handleLifecycle("updated")},
		{bus.Route{Name: "discovery-cache-deleted", Stream: bus.StreamEvents, Subject: contracts.SubjectDeleted + ".>",
			Durable: durableDeleted, Concurrency: 4, DeliverNew: true}, svc.handleLifecycle("deleted")},
	}
	for _, r := range routes {
		if err := router.Handle(r.route, r.handler); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := make(chan change, 1024)
	initial := make(chan struct{})
	errc := make(chan error, 2)
	routerDone := make(chan error, 1)
	go func() { errc <- svc.view.watch(ctx, integrations, changes, initial) }()
	go func() { errc <- svc.forget(ctx, changes) }()
	go func() { routerDone <- router.Run(ctx) }()
	// On the way out, let the router finish the discoveries it took (and ack
	// them) before the connection closes.
	defer func() { cancel(); <-routerDone }()
	select {
	case <-router.Running():
	case err := <-routerDone:
		routerDone <- err
		return err
	}
	select {
	case <-initial:
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
	cfg.Logger.Info("discovery-worker ready", "integrations", svc.view.len(), "workers", cfg.Workers, "cache", cacheKind(cfg))
	if cfg.Ready != nil {
		close(cfg.Ready)
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if ctx.Err() != nil {
			return nil
		}
		return err
	case err := <-routerDone:
		routerDone <- err
		return err
	}
}

// openCache returns Redis when configured, else the in-process cache.
func openCache(cfg Config) (cache.Cache, error) {
	m, err := cache.NewMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	if cfg.RedisURL == "" {
		return cache.NewMemory(cache.MemoryOptions{Clock: cfg.Clock, Metrics: m}), nil
	}
	return cache.NewRedis(cache.RedisOptions{URL: cfg.RedisURL, Clock: cfg.Clock, Metrics: m, Logger: cfg.Logger})
}

func cacheKind(cfg Config) string {
	if cfg.RedisURL == "" {
		return "in-process"
	}
	return "redis"
}

// service holds the running parts.
type service struct {
	cfg     Config
	bus     *bus.Bus
	logger  *slog.Logger
	metrics *metrics
	view    *catalogView
	cache   cache.Cache
	pool    *runtime.Pool
	disc    *discoverer
}

// forget closes the connector of a deleted integration.
func (s *service) forget(ctx context.Context, changes <-chan change) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-changes:
			if c.deleted {
				s.pool.Remove(c.tenantID, c.id)
			}
		}
	}
}

// handleDiscover answers one integration.discovery.requested with one
// integration.discovery.completed carrying a page of the result or an error.
func (s *service) handleDiscover(ctx context.Context, m *bus.Message) error {
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
	var derr error
	if it, ok := s.view.await(ctx, cmd.TenantID, cmd.IntegrationID, s.cfg.ViewWait); !ok {
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
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	_, err = s.bus.Publisher().Publish(pubCtx, bus.Event{
		ID: "discovery:" + cmd.RequestID, Subject: contracts.Subject(contracts.SubjectDiscoveryCompleted, cmd.TenantID, cmd.IntegrationID),
		TenantID: cmd.TenantID, DataSubject: cmd.IntegrationID, Data: done,
	})
	return err
}

// handleLifecycle empties the cache of an updated or deleted integration.
// A failure (Redis down) is redelivered; meanwhile entries of the old
// revision are never served, since an entry answers only its revision.
func (s *service) handleLifecycle(event string) bus.HandlerFunc {
	return func(ctx context.Context, m *bus.Message) error {
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
