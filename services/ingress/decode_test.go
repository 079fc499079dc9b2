package ingress

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
)

func TestDecodeBodyRefusesCharsetsOtherThanUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		contentType string
		status      int // 0 : accepted
	}{
		{"application/json", 0},
		{"application/json; charset=utf-8", 0},
		{"application/json; charset=UTF-8", 0},
		{`application/json;charset="utf-8"`, 0},
		{"application/json; charset=utf-16", http.StatusUnsupportedMediaType},
		{"application/json; charset=UTF-16LE", http.StatusUnsupportedMediaType},
		{"application/json; charset=iso-8859-1", http.StatusUnsupportedMediaType},
		{"application/json; charset=utf8", http.StatusUnsupportedMediaType},
		{"application/json; charset=", http.StatusUnsupportedMediaType},
		{"text/plain; charset=utf-8", http.StatusUnsupportedMediaType},
	}
	for _, tc := range tests {
		t.Run(tc.contentType, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/api/v1/integrations", strings.NewReader(`{"name":"x"}`))
			r.Header.Set("Content-Type", tc.contentType)
			var in contracts.IntegrationInput
			err := decodeBody(httptest.NewRecorder(), r, 1<<20, &in)
			if tc.status == 0 {
				if err != nil || in.Name != "x" {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Code != apierr.UnsupportedMediaType {
				t.Fatalf("got %v, want %d %s", err, tc.status, apierr.UnsupportedMediaType)
			}
			if strings.HasPrefix(tc.contentType, "application/json") && !strings.HasSuffix(tc.contentType, "=") && !strings.Contains(ae.Message, "utf-8") {
				t.Errorf("message %q does not say which charset is taken", ae.Message)
			}
		})
	}
}

// TestDecodeBodyLengths: a body is read whole and bounded whatever its
// declared length: exact, unknown (chunked), larger than the limit, or (a
// request made in-process) other than what it holds, which is read as
// it is.
func TestDecodeBodyLengths(t *testing.T) {
	t.Parallel()
	const body = `{"name":"x"}`
	const limit = 64
	big := `{"name":"` + strings.Repeat("x", limit) + `"}`
	tests := []struct {
		name     string
		body     string
		declared int64 // ContentLength
		status   int   // 0 : accepted with Name "x"
	}{
		{"declared", body, int64(len(body)), 0},
		{"unknown length", body, -1, 0},
		{"declared larger than the limit", big, int64(len(big)), http.StatusRequestEntityTooLarge},
		{"unknown length, larger than the limit", big, -1, http.StatusRequestEntityTooLarge},
		{"declared within the limit, larger than it", big, 10, http.StatusRequestEntityTooLarge},
		{"more than declared", body + " {}", int64(len(body)), http.StatusBadRequest},
		{"less than declared", body, int64(len(body)) + 5, 0},
		{"empty", "", 0, http.StatusBadRequest},
	}
	// A length declared past what readBody presizes for is read as it
	// comes (no buffer of the declared size), still within the limit.
	t.Run("declared far more than sent, under a large limit", func(t *testing.T) {
		t.Parallel()
		r := httptest.NewRequest(http.MethodPost, "/api/v1/integrations", strings.NewReader(body))
		r.ContentLength = 4 * presizeMax
		r.Header.Set("Content-Type", "application/json")
		var in contracts.IntegrationInput
		if err := decodeBody(httptest.NewRecorder(), r, 8*presizeMax, &in); err != nil || in.Name != "x" {
			t.Fatalf("refused: %v (name %q)", err, in.Name)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/api/v1/integrations", strings.NewReader(tc.body))
			r.ContentLength = tc.declared
			r.Header.Set("Content-Type", "application/json")
			var in contracts.IntegrationInput
			err := decodeBody(httptest.NewRecorder(), r, limit, &in)
			if tc.status == 0 {
				if err != nil || in.Name != "x" {
					t.Fatalf("refused: %v (name %q)", err, in.Name)
				}
				return
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != tc.status {
				t.Fatalf("got %v, want %d", err, tc.status)
			}
		})
	}
}
