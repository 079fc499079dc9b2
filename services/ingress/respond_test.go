package ingress

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
)

// Error bodies read as written: the 401's "Bearer <token>" was answered as
// "Bearer \u003ctoken\u003e" (HTML-escaped JSON).
func TestErrorBodiesAreNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	writeError(rec, apierr.New(http.StatusUnauthorized, apierr.Unauthorized, "a bearer token is required (Authorization: Bearer <token>) & more"))
	body := rec.Body.String()
	if !strings.Contains(body, "Bearer <token>) & more") || strings.Contains(body, `\u003c`) || strings.Contains(body, `\u0026`) {
		t.Fatalf("body %s", body)
	}
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}
