// Package devstack is the all-in-one hub behind `make run`: an embedded
// nats-server with JetStream in a data folder and every service in one
// process, through the same Run functions the separate binaries call.
package devstack

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/services/manager"
	metricsanalyzer "github.com/stella-ops/inthub/services/metrics-analyzer"
	"github.com/stella-ops/inthub/services/notifier"
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/startup"
	"github.com/stella-ops/inthub/shared/telemetry"
)

// DevTenantID is the tenant of the dev token.
const DevTenantID = "00000000-0000-4000-8000-000000000001"

// DevLocalSecrets is the operator's local-secret grant `make run` uses when
// INTHUB_LOCAL_SECRET_TENANTS is not set: the dev tenant has the name DEV, so
// its env:// references are INTHUB_SECRET_DEV_* and its file:// references
// are in .data/secrets/dev/.
const DevLocalSecrets = DevTenantID + "=DEV"

// Config configures the dev stack. Services holds each service's own
// settings as its ConfigFromEnv loads them (SettingsFromEnv fills it); Run
// overrides only what the all-in-one must. The fields after Ready are
// knobs for tests and tools, applied to every service that has the setting.
type Config struct {
	// DataDir holds the JetStream store and the dev token (default .data).
	DataDir string
	// Addr is the ingress address (default: Services.Ingress.Addr, then :8080).
	Addr string
	// MetricsAddr is where /metrics is served, on a listener of its own
	// (empty: not served). The API port never serves metrics.
	MetricsAddr string
	// NATSURL, when set, uses that server instead of an embedded one.
	NATSURL string
	// NATSPort of the embedded server; 0 picks a free port.
	NATSPort int
	// NATSIdentities are the identities the services connect with, by
	// service name (bus.Access.Service); a service without one keeps its
	// own settings' (INTHUB_NATS_USER, …). Run sets them for the embedded
	// server, whose users are those of deployments/nats/auth.conf with
	// passwords made for the run.
	NATSIdentities map[string]bus.Auth
	// Services are the services' settings; each service's bus URL and
	// client name, logger and metrics registerer are set by the stack, the
	// ingress listens on Addr, and the dev token is added to its tokens.
	Services Services
	Logger   *slog.Logger
	// Ready receives what the stack listens on, once everything serves.
	Ready chan<- Info

	// RedisURL, when set, backs the discovery cache with Redis.
	RedisURL string
	// ExtraTokens are added to the dev token (tests use a second tenant).
	ExtraTokens []ingress.TokenEntry
	// Registry of providers (default: every shipped provider).
	Registry *connectors.Registry
	// Policy, when not zero, is every service's outbound address policy.
	Policy httpx.GuardPolicy
	// Intervals, when not zero, are the health checks' periods.
	Intervals healthscheduler.Intervals
	// Local, when set, reads env:// and file:// references in every service
	// within its Policy: the manager refuses to save a reference outside it
	// and every other service to resolve one (each adds the secret stores).
	// Unset, each service's own settings decide (SettingsFromEnv: the
	// operator's INTHUB_LOCAL_SECRET_* variables); with neither, no tenant
	// may use local references.
	Local *credentials.LocalResolver
	// TestTimeout bounds POST /integrations/{id}/test (zero: 30s).
	TestTimeout time.Duration
}

// Services are the configurations of the services the stack runs.
type Services struct {
	Ingress         ingress.Config
	Manager         manager.Config
	HealthScheduler healthscheduler.Config
	DiscoveryWorker discoveryworker.Config
	Notifier        notifier.Config
	MetricsAnalyzer metricsanalyzer.Config
	PipelineRunner  pipelinerunner.Config
}

// Info tells where the stack listens.
type Info struct {
	HTTPAddr string
	// MetricsAddr is the metrics listener's address, empty when off.
	MetricsAddr string
	// NATSURL is the server's; for the embedded one it carries the
	// operator's user (AdminUser) and its password for this run.
	NATSURL  string
	TenantID string
	Token    string
}

// Run starts everything and blocks until ctx ends or a service fails.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data folder %s: %w", cfg.DataDir, err)
	}
	// Listen first: a taken port is the most common first-run failure.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return &ingress.PortTakenError{Addr: cfg.Addr}
		}
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	reg := prometheus.NewRegistry()
	metricsAddr := ""
	if cfg.MetricsAddr != "" {
		addr, stop, err := telemetry.ServeMetrics(cfg.MetricsAddr, reg, nil)
		if err != nil {
			ln.Close()
			return fmt.Errorf("metrics listener %s: %w (choose another with METRICS_ADDR, e.g. METRICS_ADDR=127.0.0.1:9465 make run, or METRICS_ADDR=off)", cfg.MetricsAddr, err)
		}
		defer stop()
		metricsAddr = addr
	}
	natsURL, infoURL := cfg.NATSURL, cfg.NATSURL
	var embedded nats.InProcessConnProvider
	if natsURL == "" {
		users, err := newNATSUsers()
		if err != nil {
			ln.Close()
			return err
		}
		ns, err := startNATS(cfg, users)
		if err != nil {
			ln.Close()
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		natsURL, infoURL = ns.ClientURL(), users.adminURL(ns.ClientURL())
		cfg.NATSIdentities = users.identities()
		embedded = ns
	}
	token, err := devToken(cfg.DataDir)
	if err != nil {
		ln.Close()
		return err
	}
	tokens, err := cfg.tokens(token)
	if err != nil {
		ln.Close()
		return err
	}
	svc := cfg.compose(natsURL, embedded, reg, tokens)
	if err := svc.shareDiscoveryCache(); err != nil {
		ln.Close()
		return err
	}

	// The services run side by side; the first that fails stops the rest.
	g := startup.NewGroup(ctx)
	defer g.Stop()
	// One catalog view for the six services that read the catalog: one
	// watch of the bucket and one decoded copy in the process, each service
	// following its changes (startup.Wiring.Catalog).
	shared := svc.shareCatalog()
	g.Go("catalog view", func(ctx context.Context) error { return watchCatalog(ctx, shared, svc.Ingress.Bus, cfg.Logger) })
	managerReady := make(chan struct{})
	svc.Manager.Ready = managerReady
	g.Go("manager", func(ctx context.Context) error { return manager.Run(ctx, svc.Manager) })
	g.Go("health-scheduler", func(ctx context.Context) error { return healthscheduler.Run(ctx, svc.HealthScheduler) })
	g.Go("discovery-worker", func(ctx context.Context) error { return discoveryworker.Run(ctx, svc.DiscoveryWorker) })
	g.Go("notifier", func(ctx context.Context) error { return notifier.Run(ctx, svc.Notifier) })
	g.Go("metrics-analyzer", func(ctx context.Context) error { return metricsanalyzer.Run(ctx, svc.MetricsAnalyzer) })
	g.Go("pipeline-runner", func(ctx context.Context) error { return pipelinerunner.Run(ctx, svc.PipelineRunner) })
	httpReady := make(chan string, 1)
	svc.Ingress.Listener, svc.Ingress.Ready = ln, httpReady
	g.Go("ingress", func(ctx context.Context) error {
		select {
		case <-managerReady:
		case <-ctx.Done():
			ln.Close()
			return nil
		}
		return ingress.Run(ctx, svc.Ingress)
	})
	select {
	case addr := <-httpReady:
		if cfg.Ready != nil {
			cfg.Ready <- Info{HTTPAddr: addr, MetricsAddr: metricsAddr, NATSURL: infoURL, TenantID: DevTenantID, Token: token}
		}
	case <-g.Context().Done():
		g.Stop()
		return g.Err()
	}
	<-g.Context().Done()
	g.Stop()
	return g.Err()
}

// shareCatalog gives every service that reads the catalog one view, which
// watchCatalog keeps, and returns it.
func (s *Services) shareCatalog() *catalog.View {
	view := catalog.NewView()
	s.Ingress.Catalog, s.HealthScheduler.Catalog, s.DiscoveryWorker.Catalog = view, view, view
	s.Notifier.Catalog, s.MetricsAnalyzer.Catalog, s.PipelineRunner.Catalog = view, view, view
	return view
}

// watchCatalog keeps the process's shared catalog view from the
// integrations bucket until ctx ends, on a connection of its own with the
// ingress's identity (b): the one user that reads the catalog and writes
// nothing. It starts as a service does, so it waits for NATS as they do.
func watchCatalog(ctx context.Context, view *catalog.View, b bus.Config, logger *slog.Logger) error {
	return startup.Run(ctx, startup.Spec{
		Name: "catalog view", Bus: b, Logger: logger.With("service", "catalog-view"),
		Buckets: func(replicas int) []jetstream.KeyValueConfig {
			return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas)}
		},
		Wire: func(_ context.Context, w *startup.Wiring) error {
			w.Watch(view, w.Bucket(catalog.BucketIntegrations))
			return nil
		},
	})
}

// withDefaults fills what cfg leaves unset.
func (cfg Config) withDefaults() Config {
	cfg.DataDir = cmp.Or(cfg.DataDir, ".data")
	cfg.Addr = cmp.Or(cfg.Addr, cfg.Services.Ingress.Addr, ":8080")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = all.Registry()
	}
	return cfg
}

// tokens are the ingress's: the configured ones (INTHUB_TOKENS,
// INTHUB_TOKENS_FILE), which keep working as in production, the dev token
// (an operator of DevTenantID) and ExtraTokens.
func (cfg Config) tokens(devToken string) (*ingress.Tokens, error) {
	return cfg.Services.Ingress.Tokens.With(append([]ingress.TokenEntry{{
		Principal: ingress.Principal{Name: "dev", TenantID: DevTenantID, Roles: []string{ingress.RoleOperator}},
		SHA256:    ingress.HashToken(devToken),
	}}, cfg.ExtraTokens...)...)
}

// compose returns what each service runs with: its own settings from
// cfg.Services, with the stack's bus, logger, metrics and tokens, and the
// test knobs of cfg where set. Nothing else is decided here, so a setting a
// service's ConfigFromEnv reads reaches it under `make run` too.
func (cfg Config) compose(natsURL string, embedded nats.InProcessConnProvider, reg prometheus.Registerer, tokens *ingress.Tokens) Services {
	s := cfg.Services
	busFor := func(b bus.Config, name string) bus.Config {
		b.URL, b.Name = natsURL, name
		if id, ok := cfg.NATSIdentities[name]; ok {
			b.Auth = id
		}
		if embedded != nil {
			// The services of this process reach the embedded server over an
			// in-memory pipe instead of loopback TCP: no socket reads and
			// writes per message. The server authenticates them as it does any
			// client; operators and tools still connect over TCP.
			b.Options = append(slices.Clip(b.Options), nats.InProcessServer(embedded))
		}
		return b
	}
	scoped := func(service string) prometheus.Registerer {
		return prometheus.WrapRegistererWith(prometheus.Labels{"service": service}, reg)
	}
	logger := func(service string) *slog.Logger { return cfg.Logger.With("service", service) }
	policy := func(p *httpx.GuardPolicy) {
		if cfg.Policy.AllowPrivate || len(cfg.Policy.AllowCIDRs) > 0 {
			*p = cfg.Policy
		}
	}
	resolver := func(r **credentials.Resolver) {
		if cfg.Local != nil {
			*r = &credentials.Resolver{Local: *cfg.Local}
		}
	}

	s.Ingress.Bus, s.Ingress.Logger, s.Ingress.Metrics = busFor(s.Ingress.Bus, "ingress"), logger("ingress"), scoped("ingress")
	s.Ingress.Tokens = tokens
	policy(&s.Ingress.OIDC.Policy)
	if cfg.TestTimeout > 0 {
		s.Ingress.TestTimeout = cfg.TestTimeout
	}

	s.Manager.Bus, s.Manager.Logger, s.Manager.Metrics = busFor(s.Manager.Bus, "manager"), logger("manager"), scoped("manager")
	s.Manager.Registry = cfg.Registry
	if cfg.Local != nil {
		s.Manager.LocalPolicy = cfg.Local.Policy
	}

	h := &s.HealthScheduler
	h.Bus, h.Logger, h.Metrics = busFor(h.Bus, "health-scheduler"), logger("health-scheduler"), scoped("health-scheduler")
	h.Registry = cfg.Registry
	policy(&h.Policy)
	resolver(&h.Resolver)
	if cfg.Intervals != (healthscheduler.Intervals{}) {
		h.Intervals = cfg.Intervals
	}

	d := &s.DiscoveryWorker
	d.Bus, d.Logger, d.Metrics = busFor(d.Bus, "discovery-worker"), logger("discovery-worker"), scoped("discovery-worker")
	d.Registry = cfg.Registry
	policy(&d.Policy)
	resolver(&d.Resolver)
	if cfg.RedisURL != "" {
		d.RedisURL = cfg.RedisURL
		s.Ingress.DiscoveryCacheSettings.URL = cfg.RedisURL
	}

	a := &s.MetricsAnalyzer
	a.Bus, a.Logger, a.Metrics = busFor(a.Bus, "metrics-analyzer"), logger("metrics-analyzer"), scoped("metrics-analyzer")
	a.Registry = cfg.Registry
	policy(&a.Policy)
	resolver(&a.Resolver)

	n := &s.Notifier
	n.Bus, n.Logger, n.Metrics = busFor(n.Bus, "notifier"), logger("notifier"), scoped("notifier")
	n.Registry = cfg.Registry
	policy(&n.Policy)
	resolver(&n.Resolver)

	p := &s.PipelineRunner
	p.Bus, p.Logger, p.Metrics = busFor(p.Bus, "pipeline-runner"), logger("pipeline-runner"), scoped("pipeline-runner")
	p.Registry = cfg.Registry
	policy(&p.Policy)
	resolver(&p.Resolver)
	return s
}

// shareDiscoveryCache gives the discovery-worker and the ingress one
// in-process discovery cache when no Redis is configured, so the ingress
// answers cache hits from it as it does from a shared Redis: one process,
// one cache. Its metrics are the worker's, as when the worker opens it.
func (s *Services) shareDiscoveryCache() error {
	d := &s.DiscoveryWorker
	if d.Cache != nil || d.RedisURL != "" || d.Redis.Set() || s.Ingress.DiscoveryCache != nil || s.Ingress.DiscoveryCacheSettings.Shared() {
		return nil
	}
	m, err := cache.NewMetrics(d.Metrics)
	if err != nil {
		return err
	}
	mem := cache.NewMemory(cache.MemoryOptions{Clock: d.Clock, Metrics: m})
	d.Cache, s.Ingress.DiscoveryCache = mem, mem
	return nil
}

// startNATS runs the embedded JetStream server with its store in the data
// folder, so catalog and streams survive a restart of `make run`, and the
// users of deployments/nats/auth.conf: each service is allowed what its
// declarations say, as in production.
func startNATS(cfg Config, users natsUsers) (*server.Server, error) {
	port := cfg.NATSPort
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts, err := users.serverOptions()
	if err != nil {
		return nil, err
	}
	opts.ServerName = "inthub-devstack"
	opts.Host = "127.0.0.1"
	opts.Port = port
	opts.JetStream = true
	opts.StoreDir = filepath.Join(cfg.DataDir, "nats")
	opts.NoSigs = true
	opts.NoLog = true
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		if port > 0 {
			return nil, fmt.Errorf("embedded NATS did not start on 127.0.0.1:%d; if the port is taken choose another with INTHUB_NATS_PORT (0 picks a free one)", port)
		}
		return nil, errors.New("embedded NATS did not start")
	}
	return ns, nil
}

// devToken returns the dev token kept in the data folder, creating it once.
func devToken(dir string) (string, error) {
	path := filepath.Join(dir, "dev-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := "inthub-dev-" + hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write dev token: %w", err)
	}
	return token, nil
}
