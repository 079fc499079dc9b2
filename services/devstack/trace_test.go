package devstack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stella-ops/inthub/shared/bus"
)

// TestOneTraceFromIngressThroughBusToManager follows a create call: the
// caller's trace continues in the ingress span, the manager's span (across
// NATS request-reply) and the lifecycle event's traceparent. Not parallel:
// it installs the global tracer provider.
func TestOneTraceFromIngressThroughBusToManager(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	s := startStack(t)
	ctx, caller := tp.Tracer("test").Start(context.Background(), "orchestrator")
	traceID := caller.SpanContext().TraceID().String()
	h := http.Header{}
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
	r := s.call("POST", "/api/v1/integrations", s.info.Token, webhook("traced"), "traceparent", h.Get("traceparent"))
	caller.End()
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}

	var sawIngress, sawManager bool
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !(sawIngress && sawManager) {
		for _, sp := range rec.Ended() {
			if sp.SpanContext().TraceID().String() != traceID {
				continue
			}
			sawIngress = sawIngress || sp.Name() == "POST /api/v1/integrations"
			sawManager = sawManager || strings.HasPrefix(sp.Name(), "manager inthub.manager.integrations.create")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawIngress || !sawManager {
		t.Fatalf("trace %s: ingress span %v, manager span %v", traceID, sawIngress, sawManager)
	}
	c, err := s.js.OrderedConsumer(context.Background(), bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"integration.created.>"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if tp := m.Headers().Get("traceparent"); !strings.Contains(tp, traceID) {
		t.Fatalf("lifecycle event traceparent %q lacks trace %s", tp, traceID)
	}
}
