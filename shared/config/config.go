// Package config reads what every service shares from the environment: the
// bus, logging, tracing, the metrics listener, the outbound address policy
// and the local secret limits. Each service's ConfigFromEnv adds its own
// variables through a Reader; defaults live in these loaders, in one place,
// and every variable is listed in docs/configuration.md (a test in the
// devstack keeps the two equal).
//
// Loaders take the lookup as a Getenv rather than calling os.Getenv, so a
// main passes os.Getenv, the devstack passes the same lookup to every
// service's loader, and tests pass a map without touching the process
// environment.
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/telemetry"
)

// Getenv returns the value of one environment variable, empty when unset.
type Getenv func(name string) string

// Reader reads typed settings through a Getenv and collects every bad value,
// so one start names all of them; each error names its variable.
type Reader struct {
	getenv Getenv
	errs   []error
}

// NewReader returns a Reader over getenv (os.Getenv when nil).
func NewReader(getenv Getenv) *Reader {
	if getenv == nil {
		getenv = os.Getenv
	}
	return &Reader{getenv: getenv}
}

// Getenv returns the lookup the Reader reads through.
func (r *Reader) Getenv() Getenv { return r.getenv }

// Fail records an error about a value the caller parsed itself.
func (r *Reader) Fail(err error) {
	if err != nil {
		r.errs = append(r.errs, err)
	}
}

// Err returns every error recorded so far, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// String returns the variable, or def when it is unset or empty.
func (r *Reader) String(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// Int returns the variable as a whole number of at least lowest, or def
// when unset.
func (r *Reader) Int(name string, def, lowest int) int {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lowest {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a whole number of at least %d", name, v, lowest))
		return def
	}
	return n
}

// MiB returns the variable, a whole number of MiB, in bytes; def when it is
// unset or 0 (the size caps' "no cap").
func (r *Reader) MiB(name string, def int64) int64 {
	if mb := r.Int(name, 0, 0); mb > 0 {
		return int64(mb) << 20
	}
	return def
}

// Duration returns the variable as a positive duration, or def when unset.
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a positive duration like 30s or 168h", name, v))
		return def
	}
	return d
}

// WithDefaults returns a Getenv that answers defaults[name] for a variable
// getenv leaves unset: the devstack's own defaults (a secrets folder in its
// data folder) without a second copy of the services' loaders.
func WithDefaults(getenv Getenv, defaults map[string]string) Getenv {
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return defaults[name]
	}
}

// Process is how a service's process logs, traces and exposes metrics.
type Process struct {
	// LogLevel is LOG_LEVEL: debug, info, warn or error.
	LogLevel string
	// MetricsAddr is METRICS_ADDR, the listener of /metrics; empty: none.
	MetricsAddr string
	// TracesFile is OTEL_TRACES_FILE: spans are written there as JSON.
	TracesFile string
}

// ProcessFromEnv reads LOG_LEVEL, METRICS_ADDR (empty or "off": no metrics
// listener) and OTEL_TRACES_FILE.
func ProcessFromEnv(getenv Getenv) (Process, error) {
	r := NewReader(getenv)
	p := Process{
		LogLevel:    r.String("LOG_LEVEL", "info"),
		MetricsAddr: r.String("METRICS_ADDR", ""),
		TracesFile:  r.String("OTEL_TRACES_FILE", ""),
	}
	switch strings.ToLower(p.LogLevel) {
	case "debug", "info", "warn", "warning", "error":
	default:
		r.Fail(fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", p.LogLevel))
	}
	if strings.EqualFold(p.MetricsAddr, "off") {
		p.MetricsAddr = ""
	}
	return p, r.Err()
}

// Load is a standalone service's start: it reads the process settings and
// the service's own with load (its ConfigFromEnv), naming every bad value
// at once, then starts logging, tracing and the metrics listener.
func Load[C any](service string, getenv Getenv, load func(Getenv) (C, error)) (C, *Common, error) {
	cfg, err := load(getenv)
	proc, perr := ProcessFromEnv(getenv)
	if err := errors.Join(err, perr); err != nil {
		return cfg, nil, err
	}
	common, err := proc.Start(service)
	return cfg, common, err
}

// Common is what a running service process holds: its logger, its metrics
// registry (served on METRICS_ADDR) and what to close on the way out.
type Common struct {
	Logger  *slog.Logger
	Metrics *prometheus.Registry
	// MetricsListen is the address the metrics listener took ("" when
	// METRICS_ADDR is empty): the port a ":0" setting was given.
	MetricsListen string
	closers       []func()

	ready     chan struct{}
	readyUsed atomic.Bool
}

// Ready returns the channel a service closes once it consumes and serves
// (its Config.Ready): from then on /readyz on METRICS_ADDR answers 200. A
// process that never asks for it (the ingress, whose API port has its own
// /readyz) has no /readyz there (404).
func (c *Common) Ready() chan<- struct{} {
	c.readyUsed.Store(true)
	return c.ready
}

// readyz answers /readyz on the metrics listener.
func (c *Common) readyz() http.Handler {
	probe := telemetry.ProbeHandler(func() bool {
		select {
		case <-c.ready:
			return true
		default:
			return false
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.readyUsed.Load() {
			http.NotFound(w, r)
			return
		}
		probe.ServeHTTP(w, r)
	})
}

// Close stops the metrics server and flushes traces.
func (c *Common) Close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// Start sets up logging to stderr, tracing and the metrics listener of a
// standalone service.
func (p Process) Start(service string) (*Common, error) {
	c := &Common{Metrics: telemetry.NewRegistry(), ready: make(chan struct{})}
	c.Logger = telemetry.NewLogger(os.Stderr, p.LogLevel, service)
	stop, err := p.StartTracing(service)
	if err != nil {
		return nil, err
	}
	c.closers = append(c.closers, stop)
	if p.MetricsAddr != "" {
		addr, stop, err := telemetry.ServeMetrics(p.MetricsAddr, c.Metrics, c.readyz())
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("METRICS_ADDR %s: %w (set METRICS_ADDR to another address, or empty to disable)", p.MetricsAddr, err)
		}
		c.closers = append(c.closers, stop)
		c.MetricsListen = addr
		c.Logger.Info("metrics listening", "addr", addr)
	}
	return c, nil
}

// StartTracing installs the tracer of service, exporting to TracesFile when
// set; the returned function flushes and closes it.
func (p Process) StartTracing(service string) (func(), error) {
	var out io.Writer
	var f *os.File
	if p.TracesFile != "" {
		var err error
		if f, err = os.OpenFile(p.TracesFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
			return nil, fmt.Errorf("OTEL_TRACES_FILE: %w", err)
		}
		out = f
	}
	shutdown, err := telemetry.SetupTracing(service, out)
	if err != nil {
		if f != nil {
			_ = f.Close()
		}
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
		if f != nil {
			_ = f.Close()
		}
	}, nil
}

// BusFromEnv reads the bus settings of the client called name.
func BusFromEnv(r *Reader, name string) bus.Config {
	b := bus.DefaultConfig()
	b.URL = r.String("NATS_URL", b.URL)
	b.Name = name
	b.Replicas = r.Int("INTHUB_STREAM_REPLICAS", b.Replicas, 1)
	b.MaxDeliver = r.Int("INTHUB_MAX_DELIVER", b.MaxDeliver, 1)
	b.EventsMaxAge = r.Duration("INTHUB_EVENTS_MAX_AGE", b.EventsMaxAge)
	b.EventsMaxBytes = r.MiB("INTHUB_EVENTS_MAX_MB", b.EventsMaxBytes)
	b.DLQMaxAge = r.Duration("INTHUB_DLQ_MAX_AGE", b.DLQMaxAge)
	b.AuditMaxAge = r.Duration("INTHUB_AUDIT_MAX_AGE", b.AuditMaxAge)
	b.AuditMaxBytes = r.MiB("INTHUB_AUDIT_MAX_MB", b.AuditMaxBytes)
	b.AckWait = r.Duration("INTHUB_ACK_WAIT", b.AckWait)
	b.HandlerTimeout = r.Duration("INTHUB_HANDLER_TIMEOUT", b.HandlerTimeout)
	b.PublishTimeout = r.Duration("INTHUB_PUBLISH_TIMEOUT", b.PublishTimeout)
	b.EndpointConcurrency = r.Int("INTHUB_ENDPOINT_CONCURRENCY", bus.DefaultEndpointConcurrency, 1)
	b.Auth = natsAuthFromEnv(r)
	if b.Replicas > 5 {
		r.Fail(fmt.Errorf("INTHUB_STREAM_REPLICAS=%d: want 1 to 5", b.Replicas))
	}
	if b.AckWait < bus.MinAckWait {
		r.Fail(fmt.Errorf("INTHUB_ACK_WAIT=%s: want at least %s (a running handler's heartbeats go every quarter of it)", b.AckWait, bus.MinAckWait))
	}
	return b
}

// natsAuthFromEnv reads the service's NATS identity and TLS settings:
// INTHUB_NATS_USER with INTHUB_NATS_PASSWORD or INTHUB_NATS_PASSWORD_FILE,
// or INTHUB_NATS_NKEY_SEED_FILE, or INTHUB_NATS_CREDS_FILE; and
// INTHUB_NATS_TLS_CA, INTHUB_NATS_TLS_CERT, INTHUB_NATS_TLS_KEY.
func natsAuthFromEnv(r *Reader) bus.Auth {
	a := bus.Auth{
		User:         r.String("INTHUB_NATS_USER", ""),
		Password:     r.String("INTHUB_NATS_PASSWORD", ""),
		NKeySeedFile: r.String("INTHUB_NATS_NKEY_SEED_FILE", ""),
		CredsFile:    r.String("INTHUB_NATS_CREDS_FILE", ""),
		CAFile:       r.String("INTHUB_NATS_TLS_CA", ""),
		CertFile:     r.String("INTHUB_NATS_TLS_CERT", ""),
		KeyFile:      r.String("INTHUB_NATS_TLS_KEY", ""),
	}
	if file := r.String("INTHUB_NATS_PASSWORD_FILE", ""); file != "" {
		switch pw, err := bus.ReadSecretFile(file); {
		case a.Password != "":
			r.Fail(errors.New("INTHUB_NATS_PASSWORD and INTHUB_NATS_PASSWORD_FILE: set one"))
		case err != nil:
			r.Fail(fmt.Errorf("INTHUB_NATS_PASSWORD_FILE: %w", err))
		default:
			a.Password = pw
		}
	}
	if err := a.Validate(); err != nil {
		r.Fail(fmt.Errorf("INTHUB_NATS_USER / _PASSWORD / _NKEY_SEED_FILE / _CREDS_FILE / _TLS_*: %w", err))
	}
	return a
}

// DefaultMaxQueuedChecks is INTHUB_CHECK_MAX_QUEUED's default: minutes of
// work for one replica's default workers, far above the few hundred
// commands a schedule that keeps up leaves queued between ticks.
const DefaultMaxQueuedChecks = 10000

// Health is the health-scheduler's own settings.
type Health struct {
	Connectivity, Authentication, Functionality time.Duration
	Workers, FlapThreshold                      int
	// MaxQueued is how many check commands may wait before the schedule
	// skips the slots coming due; 0 never skips.
	MaxQueued int
}

// HealthFromEnv reads INTHUB_CHECK_*_INTERVAL, INTHUB_CHECK_WORKERS,
// INTHUB_CHECK_MAX_QUEUED and INTHUB_FLAP_THRESHOLD.
func HealthFromEnv(r *Reader) Health {
	return Health{
		Connectivity:   r.Duration("INTHUB_CHECK_CONNECTIVITY_INTERVAL", time.Minute),
		Authentication: r.Duration("INTHUB_CHECK_AUTHENTICATION_INTERVAL", 5*time.Minute),
		Functionality:  r.Duration("INTHUB_CHECK_FUNCTIONALITY_INTERVAL", 15*time.Minute),
		Workers:        r.Int("INTHUB_CHECK_WORKERS", 16, 1),
		MaxQueued:      r.Int("INTHUB_CHECK_MAX_QUEUED", DefaultMaxQueuedChecks, 0),
		FlapThreshold:  r.Int("INTHUB_FLAP_THRESHOLD", 2, 1),
	}
}

// PolicyFromEnv reads the outbound address policy: INTHUB_ALLOW_PRIVATE_NETWORKS
// (true lifts the guard against loopback, link-local and private targets) and
// INTHUB_ALLOWED_CIDRS (comma-separated ranges allowed despite it).
func PolicyFromEnv(r *Reader) httpx.GuardPolicy {
	p, err := httpx.ParseGuardPolicy(r.String("INTHUB_ALLOW_PRIVATE_NETWORKS", ""), r.String("INTHUB_ALLOWED_CIDRS", ""))
	if err != nil {
		r.Fail(fmt.Errorf("INTHUB_ALLOW_PRIVATE_NETWORKS / INTHUB_ALLOWED_CIDRS: %w", err))
	}
	return p
}

// LocalSecretsFromEnv returns the resolver of env:// and file:// references
// with the operator's policy (credentials.LocalPolicy): each tenant listed
// in INTHUB_LOCAL_SECRET_TENANTS (<tenantId>=<NAME>,…) may read the
// variables INTHUB_LOCAL_SECRET_ENV_PREFIX<NAME>_* (prefix default
// INTHUB_SECRET_) and the files in INTHUB_LOCAL_SECRET_DIR/<name>/ (default
// /run/secrets/inthub); other tenants none, so no tenant can point a
// reference at the hub's own environment or files, or at another tenant's.
func LocalSecretsFromEnv(r *Reader) credentials.LocalResolver {
	p, err := credentials.ParseLocalPolicy(r.String("INTHUB_LOCAL_SECRET_TENANTS", ""),
		r.String("INTHUB_LOCAL_SECRET_ENV_PREFIX", "INTHUB_SECRET_"), r.String("INTHUB_LOCAL_SECRET_DIR", "/run/secrets/inthub"))
	switch {
	case errors.Is(err, credentials.ErrLocalEnvBase):
		r.Fail(fmt.Errorf("INTHUB_LOCAL_SECRET_ENV_PREFIX: %w", err))
	case errors.Is(err, credentials.ErrLocalDirBase):
		r.Fail(fmt.Errorf("INTHUB_LOCAL_SECRET_DIR: %w", err))
	case err != nil:
		r.Fail(fmt.Errorf("INTHUB_LOCAL_SECRET_TENANTS: %w", err))
	}
	return credentials.LocalResolver{Policy: p}
}
