package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Message is what a handler receives.
type Message struct {
	Subject   string
	ID        string
	Type      string
	TenantID  string
	Headers   map[string]string
	Data      []byte
	Delivered uint64
	Stream    string
	Sequence  uint64
}

// HandlerFunc handles one message, publishing what it produces through out,
// which allows only the subjects its route declares. Returning nil acks the
// message; an error makes JetStream redeliver it later, until MaxDeliver,
// then it is dead-lettered. Wrap an error with Permanent to dead-letter at
// once.
type HandlerFunc func(ctx context.Context, m *Message, out *Producer) error

// Route is one line of a service's route table, in the manner of
// Watermill's AddHandler(name, subscribeTopic, …, publishTopic, …): what one
// part of the service consumes and what it produces, so reading a service's
// table tells all of its traffic. A stream route (Stream, Durable, Handler
// set) is run by a Router; a route with only Subject is a request-reply
// endpoint (see Serve); a route with neither is a source that only
// publishes (a schedule, an HTTP API) and takes its producer with
// Publisher.For.
type Route struct {
	// Name names the handler in logs and the DLQ headers.
	Name string
	// Stream is StreamCommands or StreamEvents.
	Stream string
	// Subject is the filter subject (wildcards allowed).
	Subject string
	// Durable is the consumer name; replicas sharing it share the work.
	Durable string
	// Concurrency is how many messages this process handles at once.
	Concurrency int
	// DeliverNew starts a new durable at the end of the stream instead of
	// its start (event subscribers that only care about what comes next).
	DeliverNew bool
	// Produces are the subject filters this route may publish to; its
	// Producer refuses any other subject (ErrUndeclared).
	Produces []string
	// Calls are request-reply subjects this route calls (a client of
	// another service's endpoints); listed so the table is complete.
	Calls []string
	// Awaits are subjects this route waits on with a plain subscription
	// (the answer to a command it published), outside any stream consumer.
	Awaits []string
	// Reads are streams this route reads outside a router's consumer:
	// stream info, message gets and consumers of its own (the manager's
	// outbox on the catalog bucket's stream, the operator's event views).
	// Like the rest of the line they grant the service's NATS permissions
	// (Access.Permissions).
	Reads []string
	// Manages are streams whose messages this route removes (delete,
	// purge); managing INTHUB_DLQ also puts dead letters back on the
	// subjects they were consumed from (a redrive).
	Manages []string
	// Handler handles the messages of a stream route.
	Handler HandlerFunc
	// Endpoint answers the calls of a request-reply route (see Serve).
	Endpoint EndpointFunc
}

// Declared returns table without its handlers: what a service consumes and
// produces, for reading and for checks.
func Declared(table []Route) []Route {
	out := make([]Route, len(table))
	for i, r := range table {
		r.Handler, r.Endpoint = nil, nil
		out[i] = r
	}
	return out
}

// Merge is one route named name that produces what any route of table
// does: the producer of parts that serve several routes at once.
func Merge(name string, table []Route) Route {
	out := Route{Name: name}
	for _, r := range table {
		out.Produces = append(out.Produces, r.Produces...)
	}
	return out
}

// Consumes says whether the route reads a stream (as opposed to serving
// requests or only publishing).
func (r Route) Consumes() bool { return r.Stream != "" }

// Router runs handlers on durable, explicit-ack JetStream consumers through a
// Watermill router (recovery, correlation id, tracing, timeout, dead letters).
type Router struct {
	bus    *Bus
	router *message.Router
	logger *slog.Logger
}

// NewRouter returns a router bound to b.
func (b *Bus) NewRouter() (*Router, error) {
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, newWatermillLogger(b.logger))
	if err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	r.AddMiddleware(
		middleware.Recoverer,
		middleware.CorrelationID,
	)
	return &Router{bus: b, router: r, logger: b.logger}, nil
}

// Handle registers route's handler, with a producer limited to what the
// route declares.
func (r *Router) Handle(route Route) error {
	if route.Name == "" || route.Durable == "" || route.Subject == "" || route.Stream == "" || route.Handler == nil {
		return errors.New("bus: route needs name, stream, subject, durable and handler")
	}
	sub := newSubscriber(r.bus.js, route, r.bus.cfg, r.logger.With("handler", route.Name))
	handler := r.router.AddConsumerHandler(route.Name, route.Subject, sub, adapt(route.Handler, r.bus.pub.For(route)))
	// The handler timeout is the message context's deadline, set where
	// the subscriber makes that context (one context per message, not two).
	handler.AddMiddleware(
		r.deadLetter(route),
		traced(route.Name),
	)
	return nil
}

// Run runs the handlers until ctx ends.
func (r *Router) Run(ctx context.Context) error { return r.router.Run(ctx) }

// Running is closed once every handler is subscribed.
func (r *Router) Running() chan struct{} { return r.router.Running() }

// Close stops the router.
func (r *Router) Close() error { return r.router.Close() }

// backoffDelay doubles the redelivery delay per attempt, capped.
type backoffDelay struct{ first, max time.Duration }

func (d backoffDelay) WaitTime(n uint64) time.Duration {
	w := d.first
	for i := uint64(1); i < n && w < d.max; i++ {
		w *= 2
	}
	return min(w, d.max)
}

// toWatermill keeps the payload as bytes and every header as metadata; it
// never fails, so a body that does not decode reaches the handler (which
// dead-letters it) instead of looping in the subscriber.
// meta is msg's metadata, parsed once by the caller (nil if it has none).
func toWatermill(msg jetstream.Msg, meta *jetstream.MsgMetadata) *message.Message {
	hdr := msg.Headers()
	// Sized for the headers and the four metadata keys added below, so the
	// map is allocated once and never grows.
	md := make(message.Metadata, len(hdr)+4)
	for k, v := range hdr {
		if len(v) > 0 {
			md.Set(k, v[0])
		}
	}
	id := md.Get(HeaderID)
	if id == "" {
		id = md.Get(HeaderMsgID)
	}
	if id == "" {
		id = watermill.NewUUID()
	}
	md.Set(metaSubject, msg.Subject())
	if meta != nil {
		md.Set(metaDelivered, strconv.FormatUint(meta.NumDelivered, 10))
		md.Set(metaStream, meta.Stream)
		md.Set(metaSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
	}
	wm := message.NewMessage(id, msg.Data())
	wm.Metadata = md
	return wm
}

// adapt turns a HandlerFunc into a Watermill handler.
func adapt(h HandlerFunc, out *Producer) message.NoPublishHandlerFunc {
	return func(wm *message.Message) error {
		return h(wm.Context(), toMessage(wm), out)
	}
}

func toMessage(wm *message.Message) *Message {
	m := &Message{
		ID: wm.UUID, Data: wm.Payload, Headers: make(map[string]string, len(wm.Metadata)),
		Subject: wm.Metadata.Get(metaSubject), Stream: wm.Metadata.Get(metaStream),
		Type: wm.Metadata.Get(HeaderType), TenantID: wm.Metadata.Get(HeaderTenant),
	}
	m.Delivered, _ = strconv.ParseUint(wm.Metadata.Get(metaDelivered), 10, 64)
	m.Sequence, _ = strconv.ParseUint(wm.Metadata.Get(metaSequence), 10, 64)
	for k, v := range wm.Metadata {
		if len(k) > 0 && k[0] != '_' {
			m.Headers[k] = v
		}
	}
	return m
}

// traced continues the publisher's trace in a consumer span.
func traced(handler string) message.HandlerMiddleware {
	tracer := otel.Tracer("github.com/stella-ops/inthub/shared/bus")
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(wm *message.Message) ([]*message.Message, error) {
			ctx := ExtractTrace(wm.Context(), wm.Metadata)
			// Named and described only when the span records: with no
			// tracer provider configured, a message costs no attributes.
			ctx, span := tracer.Start(ctx, "consume", trace.WithSpanKind(trace.SpanKindConsumer))
			if span.IsRecording() {
				subject := wm.Metadata.Get(metaSubject)
				span.SetName("consume " + subject)
				span.SetAttributes(
					attribute.String("messaging.system", "nats"),
					attribute.String("messaging.destination.name", subject),
					attribute.String("messaging.message.id", wm.UUID),
					attribute.String("inthub.handler", handler),
				)
			}
			defer span.End()
			wm.SetContext(ctx)
			out, err := h(wm)
			if err != nil {
				span.RecordError(err)
			}
			return out, err
		}
	}
}
