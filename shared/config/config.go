// Package config reads what every service shares from the environment: the
// bus, logging, tracing and the metrics endpoint. Each service adds its own
// fields; defaults live here, in one place, and are documented in
// docs/configuration.md.
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/telemetry"
)

// Common is the shared part of every service's configuration.
type Common struct {
	Bus     bus.Config
	Logger  *slog.Logger
	Metrics *prometheus.Registry
	closers []func()
}

// Close stops the metrics server and flushes traces.
func (c *Common) Close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// FromEnv reads the common configuration for service, starts its metrics
// endpoint (METRICS_ADDR, empty disables) and tracing.
func FromEnv(service string) (*Common, error) {
	c := &Common{Metrics: telemetry.NewRegistry()}
	c.Logger = telemetry.NewLogger(os.Stderr, Env("LOG_LEVEL", "info"), service)
	b, err := BusFromEnv(service)
	if err != nil {
		return nil, err
	}
	c.Bus = b
	var traceOut io.Writer
	if path := os.Getenv("OTEL_TRACES_FILE"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("OTEL_TRACES_FILE: %w", err)
		}
		traceOut = f
		c.closers = append(c.closers, func() { _ = f.Close() })
	}
	shutdown, err := telemetry.SetupTracing(service, traceOut)
	if err != nil {
		return nil, err
	}
	c.closers = append(c.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
	})
	if addr := Env("METRICS_ADDR", ""); addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("METRICS_ADDR %s: %w (set METRICS_ADDR to another address, or empty to disable)", addr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", telemetry.MetricsHandler(c.Metrics))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		c.closers = append(c.closers, func() { _ = srv.Close() })
		c.Logger.Info("metrics listening", "addr", ln.Addr().String())
	}
	return c, nil
}

// BusFromEnv reads the bus settings.
func BusFromEnv(name string) (bus.Config, error) {
	b := bus.DefaultConfig()
	b.URL = Env("NATS_URL", b.URL)
	b.Name = name
	var errs []error
	b.Replicas = intEnv("INTHUB_STREAM_REPLICAS", b.Replicas, &errs)
	b.MaxDeliver = intEnv("INTHUB_MAX_DELIVER", b.MaxDeliver, &errs)
	b.EventsMaxAge = durationEnv("INTHUB_EVENTS_MAX_AGE", b.EventsMaxAge, &errs)
	b.DLQMaxAge = durationEnv("INTHUB_DLQ_MAX_AGE", b.DLQMaxAge, &errs)
	b.AckWait = durationEnv("INTHUB_ACK_WAIT", b.AckWait, &errs)
	b.HandlerTimeout = durationEnv("INTHUB_HANDLER_TIMEOUT", b.HandlerTimeout, &errs)
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	return b, b.Validate()
}

// Env returns the variable or def when unset or empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func intEnv(name string, def int, errs *[]error) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not a whole number", name, v))
		return def
	}
	return n
}

func durationEnv(name string, def time.Duration, errs *[]error) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not a duration like 30s or 168h", name, v))
		return def
	}
	return d
}

// Health is the health-scheduler's own settings.
type Health struct {
	Policy                                      httpx.GuardPolicy
	Connectivity, Authentication, Functionality time.Duration
	Workers, FlapThreshold                      int
}

// HealthFromEnv reads INTHUB_CHECK_*_INTERVAL, INTHUB_CHECK_WORKERS,
// INTHUB_FLAP_THRESHOLD and the outbound policy.
func HealthFromEnv() (Health, error) {
	var errs []error
	h := Health{
		Connectivity:   durationEnv("INTHUB_CHECK_CONNECTIVITY_INTERVAL", time.Minute, &errs),
		Authentication: durationEnv("INTHUB_CHECK_AUTHENTICATION_INTERVAL", 5*time.Minute, &errs),
		Functionality:  durationEnv("INTHUB_CHECK_FUNCTIONALITY_INTERVAL", 15*time.Minute, &errs),
		Workers:        intEnv("INTHUB_CHECK_WORKERS", 16, &errs),
		FlapThreshold:  intEnv("INTHUB_FLAP_THRESHOLD", 2, &errs),
	}
	p, err := PolicyFromEnv()
	if err != nil {
		errs = append(errs, err)
	}
	h.Policy = p
	return h, errors.Join(errs...)
}

// PolicyFromEnv reads the outbound address policy: INTHUB_ALLOW_PRIVATE_NETWORKS
// (true lifts the guard against loopback, link-local and private targets) and
// INTHUB_ALLOWED_CIDRS (comma-separated ranges allowed despite it).
func PolicyFromEnv() (httpx.GuardPolicy, error) {
	return httpx.ParseGuardPolicy(os.Getenv("INTHUB_ALLOW_PRIVATE_NETWORKS"), os.Getenv("INTHUB_ALLOWED_CIDRS"))
}

// LocalSecretsFromEnv returns the resolver of env:// and file:// references
// with the operator's policy (credentials.LocalPolicy): each tenant listed
// in INTHUB_LOCAL_SECRET_TENANTS (<tenantId>=<NAME>,…; defaultTenants when
// unset) may read the variables INTHUB_LOCAL_SECRET_ENV_PREFIX<NAME>_* and
// the files in INTHUB_LOCAL_SECRET_DIR/<name>/ (defaults INTHUB_SECRET_ and
// defaultDir, else /run/secrets/inthub); other tenants none.
func LocalSecretsFromEnv(defaultDir, defaultTenants string) (credentials.LocalResolver, error) {
	p, err := credentials.ParseLocalPolicy(Env("INTHUB_LOCAL_SECRET_TENANTS", defaultTenants),
		os.Getenv("INTHUB_LOCAL_SECRET_ENV_PREFIX"), Env("INTHUB_LOCAL_SECRET_DIR", defaultDir))
	if err != nil {
		return credentials.LocalResolver{}, fmt.Errorf("INTHUB_LOCAL_SECRET_*: %w", err)
	}
	return credentials.LocalResolver{Policy: p}, nil
}
