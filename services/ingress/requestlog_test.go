package ingress

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer for a logger shared by parallel requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRequestLogNamesTheCaller(t *testing.T) {
	t.Parallel()
	const tenant = "0193a0b4-0000-7000-8000-00000000000a"
	const secret = "request-log-token-value"
	tokens, err := NewTokens([]TokenEntry{{Principal: Principal{Name: "release-bot", TenantID: tenant}, SHA256: HashToken(secret)}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		auth       string
		status     int
		wantTenant string // "" : the line has no tenant_id at all
		wantToken  string
	}{
		{"authenticated", "Bearer " + secret, http.StatusNoContent, tenant, "release-bot"},
		{"no token", "", http.StatusUnauthorized, "", ""},
		{"wrong token", "Bearer nope", http.StatusUnauthorized, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			s := &server{logger: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: newHTTPMetrics(nil), tokens: tokens}
			h := s.observe(s.authed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })))
			req := httptest.NewRequest(http.MethodGet, "/api/v1/integrations", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line); err != nil {
				t.Fatalf("one JSON log line expected: %q: %v", logs.String(), err)
			}
			if line["msg"] != "http request" || line["status"] != float64(tc.status) {
				t.Fatalf("log line %v", line)
			}
			tenantID, hasTenant := line["tenant_id"]
			if tc.wantTenant == "" {
				if hasTenant || line["token"] != nil {
					t.Errorf("an unauthenticated request logged a caller: %v", line)
				}
			} else if tenantID != tc.wantTenant || line["token"] != tc.wantToken {
				t.Errorf("tenant_id %v token %v, want %s %s", tenantID, line["token"], tc.wantTenant, tc.wantToken)
			}
			if strings.Contains(logs.String(), secret) {
				t.Error("the token's value is in the log")
			}
		})
	}
}
