package strictjson

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
)

// patchKinds has one field of each kind the ingress's PATCH body decodes
// into: a pointer (absent or null), a free-form object, and a map of
// pointers (a null label removes it).
type patchKinds struct {
	Name   *string            `json:"name"`
	Config map[string]any     `json:"config"`
	Labels map[string]*string `json:"labels"`
}

func TestDecode(t *testing.T) {
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
			err := Decode([]byte(tc.body), &in)
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

// FuzzDecode: request decoding never panics, every failure is a 4xx with a
// code, for the create body and the PATCH body's kinds of field, and what
// decodes is the text sent: valid UTF-8, no U+FFFD the body did not hold.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"typeId":"webhook","name":"x","config":{"url":"https://x"}}`, `{"labels":{"a":"b"}}`, `{"name":null}`, `[`, `{"config":{"a":[1,{"b":2}]}}`, "\x00",
		"{\"name\":\"\xff\"}", `{"name":"\ud800"}`, `{"name":"\ud83d\ude00"}`, `{"name":"\\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range []any{&contracts.IntegrationInput{}, &patchKinds{}} {
			err := Decode(body, dst)
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
