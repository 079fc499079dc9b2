package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/micro"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// Version is the service version reported by nats micro discovery.
const Version = "0.1.0"

// serveRules registers the rule endpoints (inthub.notifier.rules.*) on b's
// connection, as the manager serves the catalog.
func serveRules(b *bus.Bus, store *ruleStore, m *metrics, logger *slog.Logger) (micro.Service, error) {
	svc, err := micro.AddService(b.Conn(), micro.Config{
		Name: notifyrules.ServiceName, Version: Version,
		Description: "Integration Hub notifier: notification rules",
	})
	if err != nil {
		return nil, fmt.Errorf("micro service: %w", err)
	}
	endpoints := []struct {
		subject string
		handle  func(ctx context.Context, body []byte) (any, error)
	}{
		{notifyrules.SubjectCreate, decodeThen(store.Create)},
		{notifyrules.SubjectGet, decodeThen(store.Get)},
		{notifyrules.SubjectList, decodeThen(store.List)},
		{notifyrules.SubjectReplace, decodeThen(store.Replace)},
		{notifyrules.SubjectDelete, decodeThen(store.Delete)},
	}
	tracer := otel.Tracer("github.com/stella-ops/inthub/services/notifier")
	for _, ep := range endpoints {
		name := strings.ReplaceAll(strings.TrimPrefix(ep.subject, notifyrules.SubjectPrefix+"."), ".", "-")
		err := svc.AddEndpoint(name, micro.HandlerFunc(func(req micro.Request) {
			start := time.Now()
			h := map[string]string{}
			for k, v := range req.Headers() {
				if len(v) > 0 {
					h[k] = v[0]
				}
			}
			ctx, cancel := context.WithTimeout(bus.ExtractTrace(context.Background(), h), 30*time.Second)
			defer cancel()
			ctx, span := tracer.Start(ctx, "notifier "+ep.subject, trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			out, err := ep.handle(ctx, req.Data())
			code := "200"
			if err != nil {
				ae := apierr.From(err)
				if ae.Status >= 500 {
					logger.ErrorContext(ctx, "rules request failed", "endpoint", ep.subject, "error", err.Error())
				}
				code = strconv.Itoa(ae.Status)
				body, _ := json.Marshal(ae.Body())
				// Nats-Service-Error carries the stable code, -Code the HTTP status.
				_ = req.Error(code, ae.Code, body)
			} else {
				_ = req.RespondJSON(out)
			}
			m.requests.WithLabelValues(ep.subject, code).Inc()
			m.requestDuration.WithLabelValues(ep.subject).Observe(time.Since(start).Seconds())
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
			return nil, apierr.New(http.StatusBadRequest, apierr.MalformedJSON, "the request is not valid JSON for this endpoint")
		}
		return fn(ctx, r)
	}
}
