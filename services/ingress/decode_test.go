package ingress

import (
	"errors"
	"testing"

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

// FuzzDecodeJSON: request decoding never panics and every failure is a 4xx
// with a code, for the create body and the PATCH shape.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"typeId":"webhook","name":"x","config":{"url":"https://x"}}`, `{"labels":{"a":"b"}}`, `{"name":null}`, `[`, `{"config":{"a":[1,{"b":2}]}}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range []any{&contracts.IntegrationInput{}, &patchBody{}} {
			err := DecodeJSON(body, dst)
			if err == nil {
				continue
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Code == "" || ae.Message == "" {
				t.Fatalf("decode %q: %v", body, err)
			}
		}
	})
}
