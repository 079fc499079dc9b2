package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/stella-ops/inthub/shared/resilience"
)

// tracerName is the instrumentation scope of httpx spans.
const tracerName = "github.com/stella-ops/inthub/shared/httpx"

// hidePathKey marks a request's context so CheckResponse, which only sees
// the response, also keeps a secret path out of its message.
type hidePathKey struct{}

// scrubKey carries Options.Scrub to CheckResponse the same way.
type scrubKey struct{}

// transport guards, traces, logs and measures every hop, redirects
// included, before handing it to the pooled *http.Transport.
type transport struct {
	base      http.RoundTripper
	shared    *baseTransport // keeps base in the shared table while this client lives
	policy    GuardPolicy
	userAgent string
	hidePath  bool
	onCred    func(string)
	scrub     func(string) string
	logger    *slog.Logger
	metrics   Metrics
	tracers   trace.TracerProvider
	propagate propagation.TextMapPropagator
	limit     *limiter
}

func newTransport(base *baseTransport, o Options) *transport {
	return &transport{
		base: base.rt, shared: base, policy: o.Policy, userAgent: o.UserAgent, hidePath: o.HidePath, onCred: o.OnCredential, scrub: o.Scrub,
		logger: o.Logger, metrics: o.Metrics, tracers: o.TracerProvider, propagate: o.Propagator,
		limit: newLimiter(o.RateLimit, o.RateBurst, o.MaxConcurrent),
	}
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	tp := t.tracers
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	ctx, span := tp.Tracer(tracerName).Start(req.Context(), "HTTP "+req.Method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(t.requestAttributes(req)...))
	defer span.End()
	if t.hidePath {
		ctx = context.WithValue(ctx, hidePathKey{}, true)
	}
	if t.scrub != nil {
		ctx = context.WithValue(ctx, scrubKey{}, t.scrub)
	}

	release, err := t.limit.acquire(ctx, req.URL.Host)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body even on error
		}
		err = t.named(req, err)
		t.record(ctx, span, req, nil, err, time.Since(start))
		return nil, err
	}
	start = time.Now() // the metric is the exchange, not the wait for a turn
	// A body nobody closes must not hold its slot for ever: the request's
	// context ends at the latest with the client's timeout.
	context.AfterFunc(req.Context(), release)
	resp, err := t.send(ctx, req)
	if err != nil {
		release()
	} else {
		t.limit.observe(req.URL.Host, resp.StatusCode, resp.Header)
		resp.Body = &limitedBody{ReadCloser: resp.Body, release: release}
	}
	t.record(ctx, span, req, resp, err, time.Since(start))
	return resp, err
}

// send checks the hop's URL, decorates a copy of the request and sends it.
func (t *transport) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	if err := checkURL(t.policy, req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body even on error
		}
		return nil, t.named(req, err)
	}
	out := req.Clone(ctx)
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header.Set("User-Agent", t.userAgent)
	}
	p := t.propagate
	if p == nil {
		p = otel.GetTextMapPropagator()
	}
	p.Inject(ctx, propagation.HeaderCarrier(out.Header))
	if t.onCred != nil {
		reportCredentials(out, t.hidePath, t.onCred)
	}
	resp, err := t.base.RoundTrip(out)
	var coded *resilience.Error
	switch {
	case errors.As(err, &coded): // the dialer's refusal
		return nil, t.named(req, err)
	case err != nil:
		code, what := classify(err)
		if code == resilience.UpstreamError && pastDeadline(req.Context()) {
			// http.Client's Timeout cancels the request, and the transport
			// may say only "request canceled" before the request's context
			// (given the same deadline) reports it.
			code, what = resilience.Timeout, "timed out"
		}
		return nil, &resilience.Error{Code: code, Message: describe(req, t.hidePath) + ": " + what, Err: err}
	}
	return resp, nil
}

// pastDeadline reports whether ctx has ended or its deadline has passed.
func pastDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// named prefixes the guard's coded refusal with the hop it concerns.
func (t *transport) named(req *http.Request, err error) error {
	var coded *resilience.Error
	if !errors.As(err, &coded) {
		return err
	}
	return &resilience.Error{Code: coded.Code, Message: describe(req, t.hidePath) + ": " + coded.Message,
		RetryAfter: coded.RetryAfter, Err: coded.Err}
}

// requestAttributes are the span's request attributes: no query, no headers.
func (t *transport) requestAttributes(req *http.Request) []attribute.KeyValue {
	u := req.URL
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(req.Method),
		semconv.URLScheme(u.Scheme),
		semconv.ServerAddress(u.Hostname()),
		semconv.URLPath(safePath(u, t.hidePath)),
	}
	if port, err := strconv.Atoi(u.Port()); err == nil {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	return attrs
}

// record finishes the span and writes the optional log line and metrics.
func (t *transport) record(ctx context.Context, span trace.Span, req *http.Request, resp *http.Response, err error, took time.Duration) {
	status, outcome := 0, ""
	switch {
	case err != nil:
		outcome = string(resilience.CodeOf(err))
		span.SetAttributes(semconv.ErrorTypeKey.String(outcome))
		span.RecordError(err) // our message: no query string, no headers
		span.SetStatus(codes.Error, outcome)
	default:
		status, outcome = resp.StatusCode, strconv.Itoa(resp.StatusCode)
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 400 {
			span.SetStatus(codes.Error, "HTTP "+outcome)
		}
	}
	if t.metrics != nil {
		t.metrics.ObserveRequest(req.URL.Host, outcome, took)
	}
	if t.logger != nil && t.logger.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("method", req.Method),
			slog.String("host", req.URL.Host),
			slog.String("path", safePath(req.URL, t.hidePath)),
			slog.Duration("duration", took),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error_code", outcome))
		} else {
			attrs = append(attrs, slog.Int("status", status))
		}
		t.logger.LogAttrs(ctx, slog.LevelDebug, "http request", attrs...)
	}
}
