// Package notifier is the notifier service: it routes integration health
// transitions and the orchestrator's notification.send.requested commands
// to notification integrations (Slack, Teams, email, webhooks, PagerDuty,
// OpsGenie) by the tenants' notification rules, and publishes
// notification.sent or notification.failed for every delivery.
//
// It owns three KV buckets: notification-rules (the rules, served for CRUD
// on inthub.notifier.rules.* and validated whole on save),
// notification-deliveries (one record per <event>:<rule>:<target>, so a
// redelivered event never sends twice) and notification-threads (provider
// thread ids, so follow-ups of one alert stay in one thread).
package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/notifyrules"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/startup"
)

// Config configures the service. Zero values take the defaults.
type Config struct {
	Bus     bus.Config
	Logger  *slog.Logger
	Metrics prometheus.Registerer
	// Ready, if set, is closed once the service consumes and serves.
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
	// Retry bounds the retries of one delivery inside one handler call;
	// what is still failing after them goes back to the bus.
	Retry resilience.Policy
	// ChannelRate and ChannelBurst are the per-channel token bucket (1/s, 3).
	ChannelRate  rate.Limit
	ChannelBurst int
	// DeliveryTTL is how long idempotency records live (7 days).
	DeliveryTTL time.Duration
	// ThreadTTL is how long a thread stays open without a resolve (30 days).
	ThreadTTL time.Duration
	// Workers is how many events this replica handles at once (8).
	Workers int
	Clock   func() time.Time

	// started, if set, sees the engine once built (tests wait on its views).
	started func(*engine)
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Resolver == nil {
		c.Resolver = &credentials.Resolver{}
	}
	if c.Retry == (resilience.Policy{}) {
		c.Retry = resilience.Policy{InitialInterval: 500 * time.Millisecond, MaxInterval: 5 * time.Second, MaxElapsed: 30 * time.Second,
			MaxAttempts: 3, Multiplier: 2, RandomizationFactor: 0.5, MaxRetryAfter: 20 * time.Second}
	}
	if c.ChannelRate == 0 {
		c.ChannelRate = 1
	}
	if c.ChannelBurst <= 0 {
		c.ChannelBurst = 3
	}
	if c.DeliveryTTL <= 0 {
		c.DeliveryTTL = 7 * 24 * time.Hour
	}
	if c.ThreadTTL <= 0 {
		c.ThreadTTL = 30 * 24 * time.Hour
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// Version is the service version reported by nats micro discovery.
const Version = "0.1.0"

// Durable consumer names: replicas sharing them share the work.
const (
	durableHealth   = "notifier-health"
	durableRequests = "notifier-requests"
)

// Routes is the notifier's route table: the two streams it consumes, the
// outcomes it publishes and the rule endpoints it serves.
func Routes() []bus.Route { return bus.Declared(routes(&handlers{}, &ruleStore{}, 0)) }

// Access is what the notifier does on the bus, from which its NATS
// identity's permissions are derived.
func Access() bus.Access {
	return bus.Access{Service: "notifier", Routes: Routes(), Buckets: bus.BucketNames(buckets(1, Config{}))}
}

// buckets are the notifier's: the catalog it watches, its rules, and the
// deliveries and threads it remembers.
func buckets(replicas int, cfg Config) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{
		catalog.IntegrationsBucket(replicas), rulesBucket(replicas),
		deliveriesBucket(replicas, cfg.DeliveryTTL), threadsBucket(replicas, cfg.ThreadTTL),
	}
}

// routes is the table with h's handlers and store's endpoints.
func routes(h *handlers, store *ruleStore, workers int) []bus.Route {
	outcomes := []string{contracts.SubjectNotificationSent + ".>", contracts.SubjectNotificationFailed + ".>"}
	return []bus.Route{
		// Health events: a new durable starts at the end of the stream, so
		// a first start does not notify about a week of history.
		{Name: "notify-health", Stream: bus.StreamEvents, Subject: contracts.SubjectHealthChanged + ".>",
			Durable: durableHealth, Concurrency: workers, DeliverNew: true, Handler: h.healthChanged, Produces: outcomes},
		{Name: "notification-send", Stream: bus.StreamCommands, Subject: contracts.SubjectNotificationRequest + ".>",
			Durable: durableRequests, Concurrency: workers, Handler: h.sendRequested, Produces: outcomes},
		bus.ReplyRoute(notifyrules.SubjectCreate, bus.Typed(store.Create)),
		bus.ReplyRoute(notifyrules.SubjectGet, bus.Typed(store.Get)),
		bus.ReplyRoute(notifyrules.SubjectList, bus.Typed(store.List)),
		bus.ReplyRoute(notifyrules.SubjectReplace, bus.Typed(store.Replace)),
		bus.ReplyRoute(notifyrules.SubjectDelete, bus.Typed(store.Delete)),
		bus.ReplyRoute(notifyrules.SubjectPreview, bus.Typed(store.Preview)),
		bus.ReplyRoute(notifyrules.SubjectDeliveries, bus.Typed(store.Deliveries)),
		rulesAuditRoute,
	}
}

// rulesAuditRoute writes the audit record of each stored rule change.
var rulesAuditRoute = audit.Route("notification-rule audit")

// rulesAuditConsumer is the durable consumer of the rules bucket's stream
// that the replicas share to write the audit records.
const rulesAuditConsumer = "notifier-rules-audit"

// Run serves until ctx ends: it consumes integration.health.changed and
// notification.send.requested, publishes notification.sent and
// notification.failed, and serves the rule endpoints.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Registry == nil {
		return errors.New("notifier: no provider registry")
	}
	return startup.Run(ctx, startup.Spec{
		Name: "notifier", Bus: cfg.Bus, Logger: cfg.Logger, Ready: startup.Closer(cfg.Ready), Metrics: cfg.Metrics,
		Buckets: func(replicas int) []jetstream.KeyValueConfig { return buckets(replicas, cfg) },
		Wire:    func(ctx context.Context, w *startup.Wiring) error { return wire(ctx, w, cfg) },
	})
}

// wire builds the notifier's parts on w.
func wire(ctx context.Context, w *startup.Wiring, cfg Config) error {
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
	rules := newRuleView()
	rules.onBroken = func(key string, err error) {
		cfg.Logger.Error("stored notification rule ignored", "key", key, "error", err.Error())
	}
	rules.read = w.Bucket(BucketRules).Get
	m := newMetrics(cfg.Metrics, rules)
	for _, kind := range []string{contracts.SubjectHealthChanged, contracts.SubjectNotificationRequest} {
		m.unrouted.WithLabelValues(kind)
	}
	// Every notification provider's outcomes and retried codes are exported from the start,
	// so an alert on failures has its series before the first one.
	for _, spec := range cfg.Registry.Specs() {
		if spec.Category == connectors.CategoryNotification {
			for _, outcome := range []string{"sent", "failed", "retry"} {
				m.deliveries.WithLabelValues(spec.ID, outcome)
			}
			for _, code := range resilience.Codes {
				if resilience.StrategyFor(code) != resilience.NoRetry {
					m.retries.WithLabelValues(spec.ID, string(code))
				}
			}
		}
	}
	integrations := w.Bucket(catalog.BucketIntegrations)
	store := &ruleStore{js: w.Bus.JetStream(), kv: w.Bucket(BucketRules), deliveries: w.Bucket(BucketDeliveries), now: cfg.Clock, validator: &validator{
		registry: cfg.Registry, lookup: kvLookup(integrations),
	}}
	bc := w.Bus.Config()
	eng := &engine{
		view: view, rules: rules, pool: pool, retry: cfg.Retry,
		deliveries: &deliveryStore{kv: w.Bucket(BucketDeliveries), staleAfter: bc.AckWait, now: cfg.Clock},
		threads:    &threadStore{kv: w.Bucket(BucketThreads), now: cfg.Clock},
		limits:     newChannelLimits(cfg.ChannelRate, cfg.ChannelBurst),
		maxDeliver: uint64(bc.MaxDeliver), now: cfg.Clock, logger: cfg.Logger, metrics: m,
	}
	if cfg.started != nil {
		cfg.started(eng)
	}
	table := routes(&handlers{engine: eng}, store, cfg.Workers)
	w.Routes(table)
	// The audit outbox's consumer exists before the first rule write is
	// served, so no change is stored unseen.
	auditor := &audit.Outbox{
		JS: w.Bus.JetStream(), KV: w.Bucket(BucketRules), Bucket: BucketRules, Consumer: rulesAuditConsumer,
		Writer: audit.NewWriter(w.Bus.JetStream(), w.Bus.Publisher().For(rulesAuditRoute)),
		Build:  ruleAuditRecord, Logger: cfg.Logger, AckWait: 5 * time.Second,
	}
	if err := auditor.Ensure(ctx); err != nil {
		return err
	}
	w.Go("rules audit", auditor.Run)
	rulesReady := make(chan struct{})
	w.Go("rules view", func(ctx context.Context) error {
		return catalog.Follow(ctx, w.Bucket(BucketRules), rules.apply, func() { close(rulesReady) })
	})
	w.Gate(rulesReady)
	w.Serve(bus.Service{
		Name: notifyrules.ServiceName, Version: Version, Prefix: notifyrules.SubjectPrefix,
		Description: "Integration Hub notifier: notification rules",
		Routes:      table, Observe: m.observe,
	})
	w.ReadyLog(func() []any { return []any{"rules", rules.count(), "workers", cfg.Workers} })
	return nil
}

// kvLookup reads an integration straight from the catalog's store: a rule
// is checked against what is stored now, not against the view.
func kvLookup(kv jetstream.KeyValue) integrationLookup {
	return func(ctx context.Context, tenantID, id string) (contracts.Integration, bool, error) {
		it, ok, err := catalog.Read(ctx, kv, tenantID, id)
		if err != nil {
			return it, false, storeError(err)
		}
		return it, ok, nil
	}
}

// handlers adapt bus messages to notices.
type handlers struct{ engine *engine }

func (h *handlers) healthChanged(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	ev, err := bus.Decode[contracts.HealthChanged](m)
	if err != nil {
		return err
	}
	if ev.TenantID == "" || ev.IntegrationID == "" {
		return bus.Permanent(fmt.Errorf("health event %s names no tenant or integration", m.ID))
	}
	return h.engine.handle(ctx, m, healthNotice(m.ID, ev), out)
}

func (h *handlers) sendRequested(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	req, err := bus.Decode[contracts.NotificationSendRequested](m)
	if err != nil {
		return err
	}
	if req.TenantID == "" || req.RequestID == "" {
		return bus.Permanent(fmt.Errorf("notification request %s names no tenant or request id", m.ID))
	}
	n, err := requestNotice(req)
	if err != nil {
		return bus.Permanent(err)
	}
	return h.engine.handle(ctx, m, n, out)
}

type metrics struct {
	deliveries      *prometheus.CounterVec
	retries         *prometheus.CounterVec
	unrouted        *prometheus.CounterVec
	rules           prometheus.GaugeFunc
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
}

// newMetrics registers the notifier's series; the rules gauge reads rules
// at each scrape.
func newMetrics(reg prometheus.Registerer, rules *ruleView) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inthub_notifier_deliveries_total",
			Help: "Deliveries by provider and outcome (sent, failed, retry, duplicate)."}, []string{"provider", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inthub_notifier_retries_total",
			Help: "Provider calls retried within a delivery, by provider and error code."}, []string{"provider", "code"}),
		unrouted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inthub_notifier_unrouted_total",
			Help: "Events no rule took, by event type."}, []string{"event_type"}),
		rules: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "inthub_notifier_rules", Help: "Notification rules loaded."},
			func() float64 { return float64(rules.count()) }),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inthub_notifier_rule_requests_total",
			Help: "Rule API requests by endpoint and result code."}, []string{"endpoint", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "inthub_notifier_rule_request_duration_seconds",
			Help: "Rule API latency.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"endpoint"}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.retries, m.unrouted, m.rules, m.requests, m.requestDuration)
	}
	return m
}

// observe records one rule API request.
func (m *metrics) observe(endpoint, code string, took time.Duration) {
	m.requests.WithLabelValues(endpoint, code).Inc()
	m.requestDuration.WithLabelValues(endpoint).Observe(took.Seconds())
}
