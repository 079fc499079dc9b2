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
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/stella-ops/inthub/shared/apierr"
)

// EndpointTimeout bounds one request-reply call inside the serving service.
const EndpointTimeout = 30 * time.Second

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
}

// Serve registers s's endpoints on nc with nats micro and answers every call
// the same way: the caller's trace continued in a server span, at most
// EndpointTimeout, a success as the handler's JSON, an error as its
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
			defer cancel()
			ctx, span := tracer.Start(ctx, spanPrefix+" "+ep.Subject, trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			code := respond(ctx, req, ep, logger)
			if s.Observe != nil {
				s.Observe(ep.Subject, code, time.Since(start))
			}
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
	return svc, nil
}

// respond runs one call and answers it; it returns the status code.
func respond(ctx context.Context, req micro.Request, ep Route, logger *slog.Logger) string {
	out, err := ep.Endpoint(ctx, req.Data())
	if err == nil {
		_ = req.RespondJSON(out)
		return "200"
	}
	ae := apierr.From(err)
	if ae.Status >= 500 {
		logger.ErrorContext(ctx, "request failed", "endpoint", ep.Subject, "error", err.Error())
	}
	code := strconv.Itoa(ae.Status)
	body, _ := json.Marshal(ae.Body())
	// Nats-Service-Error carries the stable code, -Code the HTTP status.
	_ = req.Error(code, ae.Code, body)
	return code
}
