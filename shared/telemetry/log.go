// Package telemetry sets up the hub's logs (slog JSON with trace ids),
// OpenTelemetry tracing, and Prometheus metrics endpoints.
package telemetry

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// NewLogger returns a JSON logger for service at level ("debug", "info",
// "warn", "error"); every record logged with a context carries that
// context's trace_id and span_id.
func NewLogger(w io.Writer, level, service string) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: ParseLevel(level)})
	return slog.New(serviceHandler{inner: traceHandler{h}, service: service})
}

// ServiceKey is the attribute naming the service that logged a line.
const ServiceKey = "service"

// serviceHandler holds the line's service apart from the other attributes,
// so that a logger derived with With("service", name) — as `make run` does
// for each service it runs in one process — names that service instead of
// adding a second "service" key beside the process's (JSON with a repeated
// key, which log tools read as either value).
type serviceHandler struct {
	inner   slog.Handler // without the service attribute
	service string
}

func (h serviceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h serviceHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.service == "" {
		return h.inner.Handle(ctx, r)
	}
	// The service first, then the record's own attributes; a "service"
	// among those would repeat the key, and the line's service is the
	// logger's (no caller logs one: a vendor's service goes by another key).
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(slog.String(ServiceKey, h.service))
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != ServiceKey {
			out.AddAttrs(a)
		}
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h serviceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	rest := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a.Key == ServiceKey {
			h.service = a.Value.Resolve().String()
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) > 0 {
		h.inner = h.inner.WithAttrs(rest)
	}
	return h
}

// WithGroup fixes the service at the top level before the group opens:
// attributes inside the group are the group's, a "service" among them too.
func (h serviceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	inner := h.inner
	if h.service != "" {
		inner = inner.WithAttrs([]slog.Attr{slog.String(ServiceKey, h.service)})
	}
	return serviceHandler{inner: inner.WithGroup(name)}
}

// ParseLevel maps a level name to slog; unknown names are info.
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// traceHandler adds trace ids from the record's context.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(a)}
}
func (h traceHandler) WithGroup(n string) slog.Handler { return traceHandler{h.Handler.WithGroup(n)} }
