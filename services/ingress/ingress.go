// Package ingress is the hub's thin HTTP API: it authenticates a bearer
// token to a tenant and turns /api/v1 calls into the manager's request-replies
// and bus commands. It keeps no state of its own, so it scales out freely.
package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/analysisruns"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
	"github.com/stella-ops/inthub/shared/pipelineruns"
	"github.com/stella-ops/inthub/shared/startup"
)

// Config configures the ingress.
type Config struct {
	// Addr to listen on, ":8080" by default; ignored when Listener is set.
	Addr     string
	Listener net.Listener
	Bus      bus.Config
	Tokens   *Tokens
	// TokensReload is how often the tokens file is reread (default 10s).
	TokensReload time.Duration
	// OIDC, when its Issuer is set, also accepts that issuer's JWTs.
	OIDC OIDCConfig
	// BodyLimit bounds request bodies (default 1 MiB).
	BodyLimit int64
	// CallTimeout bounds a call to the manager (default 10s).
	CallTimeout time.Duration
	// TestTimeout bounds the wait for an on-demand test (default 30s).
	TestTimeout time.Duration
	Logger      *slog.Logger
	// Metrics registers the ingress's series. They are not served on the
	// API port: the process serves them on its own metrics listener.
	Metrics prometheus.Registerer
	// AccessLogRate is how many access-log lines a second are written at
	// info (INTHUB_ACCESS_LOG_RATE, default DefaultAccessLogRate); the other
	// requests are logged at debug, server errors always at error. Below
	// zero, every request at info.
	AccessLogRate float64
	// DiscoveryCache, when set, is the discovery cache the ingress answers
	// cache hits from without a bus round trip (the devstack shares the
	// discovery-worker's in-process cache); unset, it opens the Redis that
	// DiscoveryCacheSettings names, if any; with neither, every discovery
	// goes to the discovery-worker.
	DiscoveryCache cache.Reader
	// DiscoveryCacheSettings are the discovery-worker's cache settings
	// (REDIS_URL or Sentinel or Cluster, INTHUB_DISCOVERY_CACHE_TTLS): the
	// TTLs tell which resource types are cached at all.
	DiscoveryCacheSettings cache.Settings
	// Ready, if set, receives the listening address once serving.
	Ready chan<- string
	// Catalog, when set, is the catalog view the process shares among its
	// services (devstack): the service follows it instead of watching the
	// integrations bucket into a view of its own.
	Catalog *catalog.View
}

func (c Config) readyTimeout() time.Duration { return time.Second }

// PortTakenError says the listen address is in use, and how to choose another.
type PortTakenError struct{ Addr string }

func (e *PortTakenError) Error() string {
	return fmt.Sprintf("address %s is already in use: stop what listens there, or choose another with INTHUB_ADDR (for example INTHUB_ADDR=:8081 make run)", e.Addr)
}

type server struct {
	cfg    Config
	tokens *Tokens
	// watcher, when set, serves the tokens in force (reloaded from the
	// file) instead of tokens; oidc, when set, checks JWT bearer tokens.
	watcher *tokenWatcher
	oidc    *oidcVerifier
	catalog *catalog.Client
	// reads answers single-integration reads from memory (readmodel.go);
	// nil asks the manager every time.
	reads  *readModel
	nc     *nats.Conn
	bus    *bus.Bus
	logger *slog.Logger
	// access samples the access log; nil logs every request at info.
	access *accessSampler
	// tracer starts the requests' spans; nil is the global provider's.
	tracer  trace.Tracer
	metrics *httpMetrics
	extra   map[string]http.Handler
	// discoveryCache answers discovery cache hits; nil sends every
	// discovery to the worker.
	discoveryCache cache.Reader
	// testOut, discoverOut and queryOut publish the commands of their routes.
	testOut, discoverOut, queryOut *bus.Producer
	// triggerOut and cancelOut publish the pipeline-run commands.
	triggerOut, cancelOut *bus.Producer
}

// Routes is the ingress's route table: the commands its endpoints publish
// and the answers they wait for, the request-reply calls it makes to the
// manager, the notifier and the metrics-analyzer, and the operator's replay.
func Routes() []bus.Route {
	return []bus.Route{
		routeTest, routeDiscover, routeQuery, routeTrigger, routeCancel,
		{Name: "api catalog", Calls: []string{catalog.SubjectCreate, catalog.SubjectGet, catalog.SubjectList,
			catalog.SubjectReplace, catalog.SubjectPatch, catalog.SubjectDelete, catalog.SubjectProvider}},
		{Name: "api pipeline runs", Calls: []string{pipelineruns.SubjectGet, pipelineruns.SubjectList, pipelineruns.SubjectHook}},
		{Name: "api notification rules", Calls: []string{notifyrules.SubjectCreate, notifyrules.SubjectGet,
			notifyrules.SubjectList, notifyrules.SubjectReplace, notifyrules.SubjectDelete, notifyrules.SubjectPreview,
			notifyrules.SubjectDeliveries}},
		{Name: "api analysis runs", Calls: []string{analysisruns.SubjectCreate, analysisruns.SubjectGet, analysisruns.SubjectCancel}},
		// The operator's views read the events and the dead letters; a
		// replay republishes stored events under inthub.replay.<name>
		// (shared/bus/ops); a redrive puts a dead letter back where it was
		// consumed, which is no new traffic; a purge removes dead letters.
		{Name: "operator replay", Produces: []string{bus.ReplayPrefix + ".>"},
			Reads: []string{bus.StreamEvents}, Manages: []string{bus.StreamDLQ}},
		// GET /api/v1/audit reads INTHUB_AUDIT with ordered consumers of
		// its own (shared/audit's query).
		{Name: "api audit", Reads: []string{bus.StreamAudit}},
	}
}

// Access is what the ingress does on the bus, from which its NATS
// identity's permissions are derived. It keeps no bucket.
func Access() bus.Access {
	return bus.Access{Service: "ingress", Routes: Routes(), ReadBuckets: []string{catalog.BucketIntegrations, catalog.BucketHealth}}
}

// The routes whose producers the API endpoints publish through.
var (
	routeTest = bus.Route{Name: "api test", Produces: []string{contracts.SubjectTestRequested + ".>"},
		Awaits: []string{contracts.SubjectTestCompleted + ".>"}}
	routeDiscover = bus.Route{Name: "api discover", Produces: []string{contracts.SubjectDiscoveryRequested + ".>"},
		Awaits: []string{contracts.SubjectDiscoveryCompleted + ".>"}}
	routeQuery = bus.Route{Name: "api metrics query", Produces: []string{contracts.SubjectMetricsQueryRequest + ".>"},
		Awaits: []string{contracts.SubjectMetricsQueryDone + ".>"}}
)

// Run serves the API until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Tokens == nil && !cfg.OIDC.Enabled() {
		return errors.New("ingress: no API tokens configured: set INTHUB_TOKENS, INTHUB_TOKENS_FILE or INTHUB_OIDC_ISSUER")
	}
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	cfg.TestTimeout = cfg.testTimeout()
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var verifier *oidcVerifier
	if cfg.OIDC.Enabled() {
		var err error
		if verifier, err = newOIDCVerifier(cfg.OIDC, cfg.Logger); err != nil {
			return fmt.Errorf("ingress: %w", err)
		}
	}
	watcher := newTokenWatcher(cfg.Tokens, cfg.TokensReload, cfg.Logger, cfg.Metrics)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); watcher.Run(watchCtx) }()
	defer func() { stopWatch(); <-watchDone }()
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return &PortTakenError{Addr: cfg.Addr}
			}
			return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
	}
	// Closed by the server's shutdown, or here if the start fails first.
	defer ln.Close()
	var ready func()
	if cfg.Ready != nil {
		ready = func() { cfg.Ready <- ln.Addr().String() }
	}
	// The listener answers from the start: until the bus is connected and
	// the API wired, /healthz says alive and everything else, /readyz
	// included, 503 UNAVAILABLE.
	var api atomic.Pointer[http.Handler]
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := api.Load(); h != nil {
				(*h).ServeHTTP(w, r)
				return
			}
			starting(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	return startup.Run(ctx, startup.Spec{
		Name: "ingress", Bus: cfg.Bus, Logger: cfg.Logger, Ready: ready, Metrics: cfg.Metrics,
		Start: func(ctx context.Context) error { return serveHTTP(ctx, srv, ln) },
		// The read model follows both buckets; whoever comes first creates
		// them, with the one definition.
		Buckets: func(replicas int) []jetstream.KeyValueConfig {
			return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas), catalog.HealthBucket(replicas)}
		},
		Wire: func(ctx context.Context, w *startup.Wiring) error {
			b := w.Bus
			reads := newReadModel()
			reads.view = w.Catalog(cfg.Catalog)
			w.OnChange(reads.view, reads.onChange)
			w.Go("health records", func(ctx context.Context) error {
				return reads.followHealth(ctx, w.Bucket(catalog.BucketHealth))
			})
			w.Gate(reads.healthReady)
			dc, err := openDiscoveryCache(cfg)
			if err != nil {
				return err
			}
			if c, ok := dc.(interface{ Close() error }); ok && cfg.DiscoveryCache == nil {
				w.Defer(func() { _ = c.Close() })
			}
			s := &server{
				cfg: cfg, tokens: cfg.Tokens, watcher: watcher, oidc: verifier, catalog: catalog.NewClient(b.Conn(), cfg.CallTimeout), reads: reads,
				nc: b.Conn(), bus: b, logger: cfg.Logger, access: newAccessSampler(cfg.AccessLogRate), metrics: newHTTPMetrics(cfg.Metrics), extra: map[string]http.Handler{},
				testOut: b.Publisher().For(routeTest), discoverOut: b.Publisher().For(routeDiscover),
				queryOut:   b.Publisher().For(routeQuery),
				triggerOut: b.Publisher().For(routeTrigger), cancelOut: b.Publisher().For(routeCancel),
				discoveryCache: dc,
			}
			h := s.routes()
			api.Store(&h)
			w.ReadyLog(func() []any { return []any{"addr", ln.Addr().String()} })
			return nil
		},
	})
}

// openDiscoveryCache returns the cache the ingress reads discovery hits
// from: the one it was given, else the shared Redis the settings name, else
// none (an in-process cache of another process cannot be read).
func openDiscoveryCache(cfg Config) (cache.Reader, error) {
	if cfg.DiscoveryCache != nil {
		return cfg.DiscoveryCache, nil
	}
	set := cfg.DiscoveryCacheSettings
	if !set.Shared() {
		return nil, nil
	}
	m, err := cache.NewMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return cache.NewRedis(cache.RedisOptions{URL: set.URL, Servers: set.Servers, Metrics: m, Logger: cfg.Logger})
}

// starting answers while the ingress waits for NATS: alive, not ready.
func starting(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "not connected to NATS yet"))
}

// serveHTTP serves on ln until ctx ends, then shuts down gracefully.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// observe wraps every request: recovery, a server span continuing the
// caller's trace, one log line, and metrics by route pattern (never by raw
// path, which would blow up label cardinality).
func (s *server) observe(next http.Handler) http.Handler {
	tracer := s.tracer
	if tracer == nil {
		tracer = otel.Tracer("github.com/stella-ops/inthub/services/ingress")
	}
	prop := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := prop.Extract(r.Context(), traceHeaders(r.Header))
		// The span starts under the method alone and gets its name and
		// attributes once it records: a span that does not (no tracer
		// provider, or not sampled) costs no string or attribute slice.
		// The name and attributes a recording span ends with are the same;
		// the sampler deciding is the default, parent-based one, which reads
		// neither.
		ctx, span := tracer.Start(ctx, r.Method, serverSpan...)
		defer span.End()
		if span.IsRecording() {
			span.SetName(r.Method + " " + r.URL.Path)
			span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path))
		}
		st := &requestState{Context: ctx, rec: statusRecorder{ResponseWriter: w, status: http.StatusOK}}
		rec := &st.rec
		defer func() {
			if p := recover(); p != nil {
				s.logger.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				writeError(rec, apierr.New(http.StatusInternalServerError, apierr.Internal, "internal error"))
			}
			if span.IsRecording() { // else the attribute is built for nothing
				span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
			}
			route := r.Pattern
			if route == "" {
				route = "other"
			}
			took := time.Since(start)
			s.metrics.observe(r.Method, route, rec.status, took)
			// Server errors always get their line; other requests up to the
			// sampler's rate at info, the rest at debug (accesslog.go).
			level, skipped := slog.LevelError, int64(0)
			if rec.status < 500 {
				info := false
				if info, skipped = s.access.take(); info {
					level = slog.LevelInfo
				} else {
					level = slog.LevelDebug
				}
			}
			if !s.logger.Enabled(ctx, level) {
				return
			}
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", took.Milliseconds()}
			if st.callerOK {
				// The token's name, never the token.
				attrs = append(attrs, "tenant_id", st.caller.TenantID, "token", st.caller.Name)
			}
			if skipped > 0 {
				attrs = append(attrs, "requests_logged_at_debug", skipped)
			}
			s.logger.Log(ctx, level, "http request", attrs...)
		}()
		st.req = r.WithContext(st)
		next.ServeHTTP(rec, st.req)
	})
}

// serverSpan is the options of every request's span, made once (a
// variadic argument built at each call would be allocated at each call).
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush lets streaming handlers flush through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
