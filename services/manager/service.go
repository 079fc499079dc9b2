// Package manager is the catalog service: provider specs and integration
// instances, stored in the JetStream KV bucket "integrations" (the store of
// record), served on the bus as NATS request-reply (inthub.manager.*), and
// announced as integration.created/updated/deleted events.
package manager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
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

// Run serves the catalog until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Registry == nil {
		return errors.New("manager: no provider registry")
	}
	b, err := bus.Open(ctx, cfg.Bus, logger)
	if err != nil {
		return err
	}
	defer b.Close()
	store, err := openStore(ctx, b.JetStream(), b.Config().Replicas)
	if err != nil {
		return err
	}
	cat := &Catalog{registry: cfg.Registry, local: cfg.LocalPolicy, store: store, pub: b.Publisher(), logger: logger, now: time.Now}
	svc, err := serve(b, cat, newMetrics(cfg.Metrics), logger)
	if err != nil {
		return err
	}
	defer func() { _ = svc.Stop() }()
	// The endpoints' subscriptions must have reached the server before we
	// say ready: a caller on another connection would otherwise meet "no
	// responders" for a moment.
	if err := b.Conn().FlushTimeout(10 * time.Second); err != nil {
		return fmt.Errorf("register the catalog endpoints: %w", err)
	}
	logger.Info("manager serving", "subjects", catalog.SubjectPrefix+".>", "providers", len(cfg.Registry.Specs()))
	if cfg.Ready != nil {
		close(cfg.Ready)
	}
	<-ctx.Done()
	return nil
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

// serve registers the micro endpoints on b's connection.
func serve(b *bus.Bus, cat *Catalog, m *metrics, logger *slog.Logger) (micro.Service, error) {
	svc, err := micro.AddService(b.Conn(), micro.Config{
		Name: catalog.ServiceName, Version: Version,
		Description: "Integration Hub catalog: providers and integrations",
	})
	if err != nil {
		return nil, fmt.Errorf("micro service: %w", err)
	}
	endpoints := []struct {
		subject string
		handle  func(ctx context.Context, body []byte) (any, error)
	}{
		{catalog.SubjectCreate, decodeThen(cat.Create)},
		{catalog.SubjectGet, decodeThen(cat.Get)},
		{catalog.SubjectList, decodeThen(cat.List)},
		{catalog.SubjectReplace, decodeThen(cat.Replace)},
		{catalog.SubjectPatch, decodeThen(cat.Patch)},
		{catalog.SubjectDelete, decodeThen(cat.Delete)},
		{catalog.SubjectProvider, decodeThen(func(_ context.Context, r catalog.ProvidersRequest) (contracts.ProviderList, error) {
			return cat.Providers(r.IncludeTestOnly), nil
		})},
	}
	tracer := otel.Tracer("github.com/stella-ops/inthub/services/manager")
	for _, ep := range endpoints {
		ep := ep
		err := svc.AddEndpoint(strings.ReplaceAll(ep.subject[len(catalog.SubjectPrefix)+1:], ".", "-"), micro.HandlerFunc(func(req micro.Request) {
			start := time.Now()
			h := map[string]string{}
			for k, v := range req.Headers() {
				if len(v) > 0 {
					h[k] = v[0]
				}
			}
			ctx, cancel := context.WithTimeout(bus.ExtractTrace(context.Background(), h), 30*time.Second)
			defer cancel()
			ctx, span := tracer.Start(ctx, "manager "+ep.subject, trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			out, err := ep.handle(ctx, req.Data())
			code := "200"
			if err != nil {
				ae := apierr.From(err)
				if ae.Status >= 500 {
					logger.ErrorContext(ctx, "catalog request failed", "endpoint", ep.subject, "error", err.Error())
				}
				code = strconv.Itoa(ae.Status)
				body, _ := json.Marshal(ae.Body())
				// Nats-Service-Error carries the stable code, -Code the HTTP status.
				_ = req.Error(code, ae.Code, body)
			} else {
				_ = req.RespondJSON(out)
			}
			m.requests.WithLabelValues(ep.subject, code).Inc()
			m.duration.WithLabelValues(ep.subject).Observe(time.Since(start).Seconds())
		}), micro.WithEndpointSubject(ep.subject))
		if err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("endpoint %s: %w", ep.subject, err)
		}
	}
	return svc, nil
}

// decodeThen decodes a request body strictly (unknown fields refused) and
// calls fn with it.
func decodeThen[Req, Resp any](fn func(context.Context, Req) (Resp, error)) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, body []byte) (any, error) {
		var r Req
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, apierr.New(http.StatusBadRequest, apierr.MalformedJSON, "request: %s", jsonProblem(err))
		}
		return fn(ctx, r)
	}
}
