package ingress

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/contracts"
)

// BenchmarkPostMiddleware is what a POST with a JSON body pays before its
// handler's own work, as discobench's cache hits send it: observe, authed
// and decodeBody of a discovery request, the answer a fixed body.
func BenchmarkPostMiddleware(b *testing.B) {
	const tenant = "0193a0b4-0000-7000-8000-00000000000a"
	const secret = "bench-token"
	tokens, err := NewTokens([]TokenEntry{{Principal: Principal{Name: "bench", TenantID: tenant}, SHA256: HashToken(secret)}})
	if err != nil {
		b.Fatal(err)
	}
	s := &server{logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), access: newAccessSampler(0), metrics: newHTTPMetrics(nil), tokens: tokens}
	answer := []byte(`{"cacheHit":true}` + "\n")
	mux := http.NewServeMux()
	mux.Handle("/api/v1/integrations/{id}/discover", s.authed(methods{http.MethodPost: func(w http.ResponseWriter, r *http.Request) {
		var req contracts.DiscoveryRequest
		if err := decodeBody(w, r, DefaultBodyLimit, &req); err != nil {
			writeError(w, err)
			return
		}
		w.Header()["Content-Type"] = contentTypeJSON
		_, _ = w.Write(answer)
	}}))
	h := s.observe(mux)
	const body = `{"resourceType":"repositories","limit":100}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/integrations/0193a0b4-0000-7000-8000-0000000000d1/discover", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
