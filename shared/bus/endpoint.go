package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/stella-ops/inthub/shared/apierr"
)

// EndpointTimeout bounds one request-reply call inside the serving service.
const EndpointTimeout = 30 * time.Second

// Defaults of Service.Concurrency and Service.QueueWait.
const (
	DefaultEndpointConcurrency = 32
	DefaultEndpointQueueWait   = 500 * time.Millisecond
)

// Replied is an endpoint's answer with reply headers: an EndpointFunc (or a
// Typed handler) returns one to say more than its body, such as that the
// answer replays an earlier one. The body is Value's JSON.
type Replied struct {
	Value  any
	Header map[string]string
}

// EndpointFunc answers one request-reply call: the reply's value, or an
// error (an apierr.Error to say which). Build it with Typed, so every
// endpoint decodes and answers alike.
type EndpointFunc func(ctx context.Context, body []byte) (any, error)

// ReplyRoute is the route-table line of a request-reply endpoint on subject,
// publishing what produces (subject filters) allow.
func ReplyRoute(subject string, h EndpointFunc, produces ...string) Route {
	return Route{Name: subject, Subject: subject, Endpoint: h, Produces: produces}
}

// Typed adapts a typed handler to an endpoint's: the request body must be
// exactly one JSON value of Req with no unknown members (a malformed one is
// 400 MALFORMED_JSON naming the problem, never echoing values), and fn's
// answer is what the endpoint replies.
func Typed[Req, Resp any](fn func(context.Context, Req) (Resp, error)) EndpointFunc {
	return func(ctx context.Context, body []byte) (any, error) {
		var r Req
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err := dec.Decode(&r)
		if err == nil {
			if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
				err = errors.New("data after the request's JSON value")
			}
		}
		if err != nil {
			return nil, apierr.New(http.StatusBadRequest, apierr.MalformedJSON, "request: %s", apierr.JSONProblem(err))
		}
		return fn(ctx, r)
	}
}

// Service describes a request-reply service to Serve.
type Service struct {
	// Name, Version and Description are what nats micro discovery reports.
	Name, Version, Description string
	// Prefix is the subject prefix of the endpoints; an endpoint's name is
	// the rest of its subject with dots as dashes.
	Prefix string
	// Routes are the service's route table; its lines with an Endpoint
	// are served.
	Routes []Route
	Logger *slog.Logger
	// Observe, if set, is told each call's endpoint subject, status code
	// ("200", "404", …) and duration: the service's metrics.
	Observe func(subject, code string, took time.Duration)
	// Concurrency is how many calls of all the service's endpoints run at
	// once (default DefaultEndpointConcurrency). nats micro hands an
	// endpoint's requests over one at a time, so without a pool one slow
	// call would hold up every other call of its endpoint.
	Concurrency int
	// QueueWait is how long a call waits for a free slot before it is
	// answered 503 UNAVAILABLE (default DefaultEndpointQueueWait).
	QueueWait time.Duration
}

// pool runs a service's calls, at most cap(slots) at once; waiting counts
// the calls queued for a slot, at most maxWaiting, so a flood is answered
// 503 at once rather than piling up goroutines.
type pool struct {
	slots      chan struct{}
	wait       time.Duration
	mu         sync.Mutex
	idle       *sync.Cond // signalled when inflight drops to 0
	inflight   int        // calls accepted and not yet answered
	waiting    int
	maxWaiting int
}

func newPool(size int, wait time.Duration) *pool {
	if size <= 0 {
		size = DefaultEndpointConcurrency
	}
	if wait <= 0 {
		wait = DefaultEndpointQueueWait
	}
	p := &pool{slots: make(chan struct{}, size), wait: wait, maxWaiting: 4 * size}
	p.idle = sync.NewCond(&p.mu)
	return p
}

// submit runs call in its own goroutine once a slot is free, or busy if
// none frees up within the queue wait (or the queue is full). It never
// blocks the caller: micro's dispatch goroutine goes on to the next request.
func (p *pool) submit(call, busy func()) {
	select {
	case p.slots <- struct{}{}:
		p.mu.Lock()
		p.inflight++
		p.mu.Unlock()
		go p.run(call)
		return
	default:
	}
	p.mu.Lock()
	if p.waiting >= p.maxWaiting {
		p.mu.Unlock()
		busy()
		return
	}
	p.waiting++
	p.inflight++
	p.mu.Unlock()
	go func() {
		t := time.NewTimer(p.wait)
		defer t.Stop()
		select {
		case p.slots <- struct{}{}:
			p.dequeue()
			p.run(call)
		case <-t.C:
			p.dequeue()
			busy()
			p.finish()
		}
	}()
}

func (p *pool) dequeue() {
	p.mu.Lock()
	p.waiting--
	p.mu.Unlock()
}

func (p *pool) finish() {
	p.mu.Lock()
	if p.inflight--; p.inflight == 0 {
		p.idle.Broadcast()
	}
	p.mu.Unlock()
}

// drain waits until every accepted call has been answered.
func (p *pool) drain() {
	p.mu.Lock()
	for p.inflight > 0 {
		p.idle.Wait()
	}
	p.mu.Unlock()
}

// run runs call in the slot it holds, then frees the slot.
func (p *pool) run(call func()) {
	defer func() {
		<-p.slots
		p.finish()
	}()
	call()
}

// served is a micro.Service whose Stop also waits for the calls it runs.
type served struct {
	micro.Service
	pool *pool
}

// Stop stops taking requests and waits for the calls in progress (each
// bounded by EndpointTimeout) to answer.
func (s served) Stop() error {
	err := s.Service.Stop()
	s.pool.drain()
	return err
}

// Serve registers s's endpoints on nc with nats micro and answers every call
// the same way: run on a pool of s.Concurrency shared by the endpoints (a
// call that finds no slot within s.QueueWait is answered 503 UNAVAILABLE),
// the caller's trace continued in a server span, at most EndpointTimeout
// from its arrival, a success as the handler's JSON, an error as its
// apierr.Error: the ErrorBody (code, message, details) as the body, the
// stable code in Nats-Service-Error and the HTTP status in
// Nats-Service-Error-Code. An error that is not an apierr.Error answers 500
// INTERNAL without its text, and is logged.
func Serve(nc *nats.Conn, s Service) (micro.Service, error) {
	logger := s.Logger
	if logger == nil {
		logger = slog.Default()
	}
	svc, err := micro.AddService(nc, micro.Config{Name: s.Name, Version: s.Version, Description: s.Description})
	if err != nil {
		return nil, fmt.Errorf("micro service %s: %w", s.Name, err)
	}
	tracer := otel.Tracer("github.com/stella-ops/inthub/shared/bus")
	workers := newPool(s.Concurrency, s.QueueWait)
	// Spans are named "<service> <subject>": "manager inthub.manager.…".
	spanPrefix := strings.TrimPrefix(s.Name, "inthub-")
	for _, ep := range s.Routes {
		if ep.Endpoint == nil {
			continue
		}
		name := strings.ReplaceAll(strings.TrimPrefix(ep.Subject, s.Prefix+"."), ".", "-")
		err := svc.AddEndpoint(name, micro.HandlerFunc(func(req micro.Request) {
			start := time.Now()
			h := map[string]string{}
			for k, v := range req.Headers() {
				if len(v) > 0 {
					h[k] = v[0]
				}
			}
			ctx, cancel := context.WithTimeout(ExtractTrace(context.Background(), h), EndpointTimeout)
			observe := func(code string) {
				if s.Observe != nil {
					s.Observe(ep.Subject, code, time.Since(start))
				}
			}
			workers.submit(func() {
				defer cancel()
				ctx, span := tracer.Start(ctx, spanPrefix+" "+ep.Subject, trace.WithSpanKind(trace.SpanKindServer))
				defer span.End()
				observe(respond(ctx, nc, req, ep, logger))
			}, func() {
				defer cancel()
				logger.WarnContext(ctx, "request refused: every worker busy", "endpoint", ep.Subject, "workers", cap(workers.slots))
				observe(answerError(nc, req, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the %s is busy; retry shortly", spanPrefix)))
			})
		}), micro.WithEndpointSubject(ep.Subject))
		if err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("endpoint %s: %w", ep.Subject, err)
		}
	}
	// The endpoints' subscriptions must have reached the server before the
	// service says it serves: a caller on another connection would
	// otherwise meet "no responders" for a moment.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		_ = svc.Stop()
		return nil, fmt.Errorf("register the endpoints of %s: %w", s.Name, err)
	}
	return served{Service: svc, pool: workers}, nil
}

// respond runs one call and answers it; it returns the status code.
func respond(ctx context.Context, nc *nats.Conn, req micro.Request, ep Route, logger *slog.Logger) string {
	out, err := ep.Endpoint(ctx, req.Data())
	if err == nil {
		hdr := nats.Header{}
		if r, ok := out.(Replied); ok {
			out = r.Value
			for k, v := range r.Header {
				hdr.Set(k, v)
			}
		}
		body, merr := json.Marshal(out)
		if merr != nil {
			logger.ErrorContext(ctx, "reply not encodable", "endpoint", ep.Subject, "error", merr.Error())
			return answerError(nc, req, apierr.New(http.StatusInternalServerError, apierr.Internal, "the reply could not be encoded"))
		}
		reply(nc, req, body, hdr)
		return "200"
	}
	ae := apierr.From(err)
	if ae.Status >= 500 {
		logger.ErrorContext(ctx, "request failed", "endpoint", ep.Subject, "error", err.Error())
	}
	return answerError(nc, req, ae)
}

// answerError answers ae in the one error shape; it returns the status code.
func answerError(nc *nats.Conn, req micro.Request, ae *apierr.Error) string {
	code := strconv.Itoa(ae.Status)
	body, _ := json.Marshal(ae.Body())
	// Nats-Service-Error carries the stable code, -Code the HTTP status,
	// as micro's Request.Error would set them.
	hdr := nats.Header{}
	hdr.Set(micro.ErrorHeader, ae.Code)
	hdr.Set(micro.ErrorCodeHeader, code)
	reply(nc, req, body, hdr)
	return code
}

// reply publishes an answer to the request's reply subject on nc. The call
// runs on a worker goroutine after micro's handler has returned, so it must
// not go through micro.Request's Respond/Error: they record the outcome in
// the request, which micro reads for its statistics when the handler
// returns — a data race. Outcomes are counted by Service.Observe instead.
func reply(nc *nats.Conn, req micro.Request, body []byte, hdr nats.Header) {
	if req.Reply() == "" {
		return
	}
	_ = nc.PublishMsg(&nats.Msg{Subject: req.Reply(), Data: body, Header: hdr})
}
