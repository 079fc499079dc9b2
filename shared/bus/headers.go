package bus

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// CloudEvents NATS-binding header names, and the hub's own.
const (
	HeaderSpecVersion = "ce-specversion"
	HeaderID          = "ce-id"
	HeaderType        = "ce-type"
	HeaderSource      = "ce-source"
	HeaderTime        = "ce-time"
	HeaderSubject     = "ce-subject"
	HeaderContentType = "content-type"
	HeaderTenant      = "inthub-tenant"
	HeaderMsgID       = "Nats-Msg-Id"

	// Dead-letter headers.
	HeaderDLQReason   = "inthub-dlq-reason"
	HeaderDLQSubject  = "inthub-dlq-original-subject"
	HeaderDLQStream   = "inthub-dlq-original-stream"
	HeaderDLQHandler  = "inthub-dlq-handler"
	HeaderDLQAttempts = "inthub-dlq-deliveries"
	HeaderDLQTime     = "inthub-dlq-time"

	// metadata keys the subscriber adds; never published.
	metaSubject   = "_inthub_subject"
	metaDelivered = "_inthub_delivered"
	metaStream    = "_inthub_stream"
	metaSequence  = "_inthub_sequence"
)

// propagator carries W3C trace context (traceparent, tracestate).
var propagator = propagation.TraceContext{}

// MapCarrier adapts a string map (watermill metadata, headers) to otel.
type MapCarrier map[string]string

// Get implements propagation.TextMapCarrier.
func (c MapCarrier) Get(k string) string { return c[k] }

// Set implements propagation.TextMapCarrier.
func (c MapCarrier) Set(k, v string) { c[k] = v }

// Keys implements propagation.TextMapCarrier.
func (c MapCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}

// InjectTrace writes ctx's trace context into m.
func InjectTrace(ctx context.Context, m map[string]string) {
	propagator.Inject(ctx, MapCarrier(m))
	// Also honour a globally configured propagator (baggage, say).
	otel.GetTextMapPropagator().Inject(ctx, MapCarrier(m))
}

// injectTraceHeader is InjectTrace straight into a NATS header (values kept
// one line, as headerSafe does). Nothing is written without a trace.
func injectTraceHeader(ctx context.Context, h nats.Header) {
	c := headerCarrier(h)
	propagator.Inject(ctx, c)
	otel.GetTextMapPropagator().Inject(ctx, c)
}

// headerCarrier adapts a NATS header (single values) to otel.
type headerCarrier nats.Header

func (c headerCarrier) Get(k string) string {
	if v := c[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c headerCarrier) Set(k, v string) { c[k] = []string{headerSafe(v)} }

func (c headerCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}

// ExtractTrace returns ctx carrying the trace context found in m.
func ExtractTrace(ctx context.Context, m map[string]string) context.Context {
	return propagator.Extract(ctx, MapCarrier(m))
}

// headerSafe makes a value fit a NATS header: one line, bounded. A value
// that fits already (nearly all) is returned as is, without a copy.
func headerSafe(v string) string {
	if len(v) <= 1024 && !strings.ContainsAny(v, "\r\n") {
		return v
	}
	v = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
	if len(v) > 1024 {
		v = v[:1024]
	}
	return v
}
