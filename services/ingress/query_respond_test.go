package ingress

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// respondQuery reads metrics.query.completed as the analyzer publishes it:
// the series object passed on as is, an error mapped to its status.
func TestRespondQueryPassesTheSeriesOrMapsTheError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, completed string
		status          int
		body            string
	}{
		{"series", `{"requestId":"r1","tenantId":"t","integrationId":"i","result":{"series":[{"labels":{"job":"api"},"points":[[1,0.5]]}]}}`,
			http.StatusOK, `{"series":[{"labels":{"job":"api"},"points":[[1,0.5]]}]}`},
		{"bad query", `{"requestId":"r1","error":{"code":"INVALID_METRICS_QUERY","message":"parse error"}}`, http.StatusBadRequest, `"INVALID_METRICS_QUERY"`},
		{"rate limited", `{"requestId":"r1","error":{"code":"RATE_LIMITED","message":"slow down","details":{"retryAfterSeconds":3}}}`, http.StatusTooManyRequests, `"RATE_LIMITED"`},
		{"neither", `{"requestId":"r1"}`, http.StatusInternalServerError, `"INTERNAL"`},
		{"not JSON", `{"requestId":`, http.StatusInternalServerError, `"INTERNAL"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			data := []byte(tc.completed)
			respondQuery(w, data)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("answered %d %s, want %d with %s", w.Code, w.Body.String(), tc.status, tc.body)
			}
			if string(data) != tc.completed {
				t.Fatalf("the message was changed under its other readers: %s", data)
			}
			if wantRetry := map[int]string{http.StatusTooManyRequests: "3"}[tc.status]; w.Header().Get("Retry-After") != wantRetry {
				t.Fatalf("Retry-After %q, want %q", w.Header().Get("Retry-After"), wantRetry)
			}
		})
	}
}
