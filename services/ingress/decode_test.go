package ingress

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
)

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		code string
	}{
		{"valid", `{"typeId":"webhook","name":"x","config":{"url":"https://x"}}`, ""},
		{"syntax", `{"typeId":`, apierr.MalformedJSON},
		{"empty", ``, apierr.MalformedJSON},
		{"array", `[]`, apierr.MalformedJSON},
		{"two values", `{} {}`, apierr.MalformedJSON},
		{"unknown field", `{"nope":1}`, apierr.UnknownField},
		{"wrong type", `{"name":1}`, apierr.InvalidFieldType},
		{"wrong nested type", `{"labels":{"a":1}}`, apierr.InvalidFieldType},
		// encoding/json would store U+FFFD for these; the API refuses them.
		{"invalid UTF-8 in a string", "{\"name\":\"prod\xff\"}", apierr.MalformedJSON},
		{"invalid UTF-8 in a config value", "{\"config\":{\"url\":\"https://x/\xc3\"}}", apierr.MalformedJSON},
		{"unpaired high surrogate", `{"name":"a\ud800"}`, apierr.MalformedJSON},
		{"high surrogate then text", `{"name":"a\uD800\u0041"}`, apierr.MalformedJSON},
		{"unpaired low surrogate", `{"description":"\udc00b"}`, apierr.MalformedJSON},
		{"surrogate pair", `{"name":"smile \ud83d\ude00"}`, ""},
		{"escaped backslash before u", `{"name":"C:\\ud800"}`, ""},
		{"escaped characters", `{"name":"tab\t\"quote\" \u00e9"}`, ""},
		{"non-ASCII text", `{"name":"Zürich 東京"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var in contracts.IntegrationInput
			err := DecodeJSON([]byte(tc.body), &in)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Code != tc.code || ae.Status != 400 {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// FuzzDecodeJSON: request decoding never panics, every failure is a 4xx
// with a code, for the create body and the PATCH shape, and what decodes is
// the text sent: valid UTF-8, no U+FFFD the body did not hold.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"typeId":"webhook","name":"x","config":{"url":"https://x"}}`, `{"labels":{"a":"b"}}`, `{"name":null}`, `[`, `{"config":{"a":[1,{"b":2}]}}`, "\x00",
		"{\"name\":\"\xff\"}", `{"name":"\ud800"}`, `{"name":"\ud83d\ude00"}`, `{"name":"\\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range []any{&contracts.IntegrationInput{}, &patchBody{}} {
			err := DecodeJSON(body, dst)
			if err == nil {
				if !utf8.Valid(body) {
					t.Fatalf("decode %q: accepted a body that is not UTF-8", body)
				}
				if in, ok := dst.(*contracts.IntegrationInput); ok && strings.ContainsRune(in.Name+in.Description, utf8.RuneError) &&
					!bytes.Contains(body, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
					t.Fatalf("decode %q: U+FFFD appeared in the text", body)
				}
				continue
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Code == "" || ae.Message == "" {
				t.Fatalf("decode %q: %v", body, err)
			}
		}
	})
}

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
