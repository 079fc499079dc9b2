package ingress

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// BenchmarkGetIntegration is GET /api/v1/integrations/{id} through the
// API's whole handler (observe, authed, the read model) as ingressbench
// sends it, for one integration of the read model with a health record;
// the access log is JSON at info to io.Discard, sampled as by default.
func BenchmarkGetIntegration(b *testing.B) {
	const tenant = "0193a0b4-0000-7000-8000-00000000000a"
	const id = "0193a0b4-0000-7000-8000-0000000000d1"
	const secret = "bench-token"
	bus := natstest.Open(b, natstest.Start(b), "getbench")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	itKV, err := bus.JetStream().CreateOrUpdateKeyValue(ctx, catalog.IntegrationsBucket(1))
	if err != nil {
		b.Fatal(err)
	}
	healthKV, err := bus.JetStream().CreateOrUpdateKeyValue(ctx, catalog.HealthBucket(1))
	if err != nil {
		b.Fatal(err)
	}
	put := func(kv interface {
		Put(context.Context, string, []byte) (uint64, error)
	}, v any) {
		raw, _ := json.Marshal(v)
		if _, err := kv.Put(ctx, tenant+"."+id, raw); err != nil {
			b.Fatal(err)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	put(itKV, contracts.Integration{ID: id, TenantID: tenant, TypeID: "inmemory", Name: "bench",
		Config: map[string]any{"latencyMs": 0, "fail": false}, Labels: map[string]string{"env": "bench"}, CreatedAt: at, UpdatedAt: at})
	checks := map[contracts.CheckType]contracts.HealthCheckResult{}
	for _, ct := range []contracts.CheckType{contracts.CheckConnectivity, contracts.CheckAuthentication, contracts.CheckFunctionality} {
		checks[ct] = contracts.HealthCheckResult{IntegrationID: id, CheckType: ct, Status: contracts.HealthHealthy, CheckedAt: at}
	}
	put(healthKV, contracts.IntegrationHealth{TenantID: tenant, IntegrationID: id, Status: contracts.HealthHealthy, LastCheck: &at, Checks: checks, Breaker: "closed"})
	m := newReadModel()
	go func() { _ = m.view.Watch(ctx, itKV) }()
	go func() { _ = m.followHealth(ctx, healthKV) }()
	<-m.view.Ready()
	<-m.healthReady
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if it, ok := m.get(ctx, tenant, id); ok && it.HealthStatus == contracts.HealthHealthy {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the read model never held the integration")
		}
	}
	tokens, err := NewTokens([]TokenEntry{{Principal: Principal{Name: "bench", TenantID: tenant}, SHA256: HashToken(secret)}})
	if err != nil {
		b.Fatal(err)
	}
	// The first as ingressbench runs the hub (no tracer provider: spans
	// record nothing); the second as `make run` does (the SDK's provider,
	// every span recorded, none exported without OTEL_TRACES_FILE).
	for _, tc := range []struct {
		name   string
		tracer trace.Tracer
	}{
		{"no tracer provider", nil},
		{"recording spans", sdktrace.NewTracerProvider().Tracer("bench")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := &server{logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), access: newAccessSampler(0), metrics: newHTTPMetrics(nil),
				tokens: tokens, reads: m, extra: map[string]http.Handler{}, tracer: tc.tracer}
			h := s.routes()
			req := httptest.NewRequest(http.MethodGet, "/api/v1/integrations/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
