// Package devstack is the all-in-one hub behind `make run`: an embedded
// nats-server with JetStream in a data folder and every service in one
// process, through the same Run functions the separate binaries call.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/services/notifier"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// DevTenantID is the tenant of the dev token.
const DevTenantID = "00000000-0000-4000-8000-000000000001"

// DevLocalSecrets is the operator's local-secret grant `make run` uses when
// INTHUB_LOCAL_SECRET_TENANTS is not set: the dev tenant has the name DEV, so
// its env:// references are INTHUB_SECRET_DEV_* and its file:// references
// are in .data/secrets/dev/.
const DevLocalSecrets = DevTenantID + "=DEV"

// Config configures the dev stack.
type Config struct {
	// DataDir holds the JetStream store and the dev token (default .data).
	DataDir string
	// Addr is the ingress address (default :8080).
	Addr string
	// NATSURL, when set, uses that server instead of an embedded one.
	NATSURL string
	// NATSPort of the embedded server; 0 picks a free port.
	NATSPort int
	// RedisURL, when set, backs the discovery cache with Redis.
	RedisURL string
	// ExtraTokens are added to the dev token (tests use a second tenant).
	ExtraTokens []ingress.TokenEntry
	// Registry of providers (default: every shipped provider).
	Registry *connectors.Registry
	Logger   *slog.Logger
	// Bus tunes the bus; URL and Name are set by the stack.
	Bus bus.Config
	// Policy is the outbound address policy (INTHUB_ALLOW_PRIVATE_NETWORKS).
	Policy httpx.GuardPolicy
	// Intervals of the health checks (zero: the spec's 1/5/15 minutes).
	Intervals healthscheduler.Intervals
	// Local reads env:// and file:// references within its Policy: the
	// manager refuses to save a reference outside it and every other
	// service to resolve one (each adds the secret stores). The zero value
	// lets no tenant use local references.
	Local credentials.LocalResolver
	// TestTimeout bounds POST /integrations/{id}/test (zero: 30s).
	TestTimeout time.Duration
	// Ready receives what the stack listens on, once everything serves.
	Ready chan<- Info
}

// Info tells where the stack listens.
type Info struct {
	HTTPAddr string
	NATSURL  string
	TenantID string
	Token    string
}

// Run starts everything and blocks until ctx ends or a service fails.
func Run(ctx context.Context, cfg Config) error {
	if cfg.DataDir == "" {
		cfg.DataDir = ".data"
	}
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = all.Registry()
	}
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
	natsURL := cfg.NATSURL
	if natsURL == "" {
		ns, err := startNATS(cfg)
		if err != nil {
			ln.Close()
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		natsURL = ns.ClientURL()
	}
	token, err := devToken(cfg.DataDir)
	if err != nil {
		ln.Close()
		return err
	}
	tokens, err := ingress.NewTokens(append([]ingress.TokenEntry{{
		Principal: ingress.Principal{Name: "dev", TenantID: DevTenantID, Roles: []string{ingress.RoleOperator}},
		SHA256:    ingress.HashToken(token),
	}}, cfg.ExtraTokens...))
	if err != nil {
		ln.Close()
		return err
	}

	reg := prometheus.NewRegistry()
	busFor := func(name string) bus.Config {
		b := cfg.Bus
		b.URL, b.Name = natsURL, name
		return b
	}
	scoped := func(service string) prometheus.Registerer {
		return prometheus.WrapRegistererWith(prometheus.Labels{"service": service}, reg)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	start := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	managerReady := make(chan struct{})
	start("manager", func(ctx context.Context) error {
		return manager.Run(ctx, manager.Config{Bus: busFor("manager"), Registry: cfg.Registry, Logger: cfg.Logger.With("service", "manager"), Metrics: scoped("manager"), LocalPolicy: cfg.Local.Policy, Ready: managerReady})
	})
	start("health-scheduler", func(ctx context.Context) error {
		return healthscheduler.Run(ctx, healthscheduler.Config{
			Bus: busFor("health-scheduler"), Logger: cfg.Logger.With("service", "health-scheduler"), Metrics: scoped("health-scheduler"),
			Registry: cfg.Registry, Policy: cfg.Policy, Intervals: cfg.Intervals, Resolver: &credentials.Resolver{Local: cfg.Local},
		})
	})
	start("discovery-worker", func(ctx context.Context) error {
		return discoveryworker.Run(ctx, discoveryworker.Config{
			Bus: busFor("discovery-worker"), Logger: cfg.Logger.With("service", "discovery-worker"), Metrics: scoped("discovery-worker"),
			Registry: cfg.Registry, Policy: cfg.Policy, RedisURL: cfg.RedisURL, Resolver: &credentials.Resolver{Local: cfg.Local},
		})
	})
	start("notifier", func(ctx context.Context) error {
		return notifier.Run(ctx, notifier.Config{
			Bus: busFor("notifier"), Logger: cfg.Logger.With("service", "notifier"), Metrics: scoped("notifier"),
			Registry: cfg.Registry, Policy: cfg.Policy, Resolver: &credentials.Resolver{Local: cfg.Local},
		})
	})
	httpReady := make(chan string, 1)
	start("ingress", func(ctx context.Context) error {
		select {
		case <-managerReady:
		case <-ctx.Done():
			ln.Close()
			return nil
		}
		return ingress.Run(ctx, ingress.Config{
			Listener: ln, Bus: busFor("ingress"), Tokens: tokens, Logger: cfg.Logger.With("service", "ingress"),
			Metrics: scoped("ingress"), Gatherer: reg, Ready: httpReady, TestTimeout: cfg.TestTimeout,
		})
	})
	select {
	case addr := <-httpReady:
		if cfg.Ready != nil {
			cfg.Ready <- Info{HTTPAddr: addr, NATSURL: natsURL, TenantID: DevTenantID, Token: token}
		}
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	var runErr error
	select {
	case runErr = <-errc:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	return runErr
}

// startNATS runs the embedded JetStream server with its store in the data
// folder, so catalog and streams survive a restart of `make run`.
func startNATS(cfg Config) (*server.Server, error) {
	port := cfg.NATSPort
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: "inthub-devstack",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.DataDir, "nats"),
		NoSigs:     true,
		NoLog:      true,
	}
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
