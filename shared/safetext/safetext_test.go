package safetext

import (
	"errors"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
)

func TestProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, s   string
		multiline bool
		want      string // in the reason; "" : accepted
	}{
		{"plain", "Production Registry", false, ""},
		{"accents and CJK", "Zürich 東京 registry", false, ""},
		{"right-to-left script", "مستودع الإنتاج", false, ""},
		{"emoji with joiners", "team \U0001F469\u200D\U0001F4BB ops", false, ""},
		{"subdivision flag", "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", false, ""},
		{"persian non-joiner", "می\u200cخواهم", false, ""},
		{"newline in a description", "line one\nline two\ttab\r\n", true, ""},
		{"invalid UTF-8", "prod\xff", false, "not valid UTF-8 (at byte 4)"},
		{"truncated sequence", "caf\xc3", true, "not valid UTF-8"},
		{"replacement character", "prod\uFFFD", false, "U+FFFD"},
		{"right-to-left override", "invoice\u202Egpj.exe", false, "U+202E, a bidirectional control"},
		{"left-to-right embedding", "a\u202Ab", true, "U+202A"},
		{"isolate", "a\u2066b\u2069", false, "U+2066"},
		{"left-to-right mark", "a\u200Eb", false, "U+200E"},
		{"right-to-left mark", "a\u200Fb", false, "U+200F"},
		{"arabic letter mark", "a\u061Cb", false, "U+061C"},
		{"zero-width space", "pro\u200Bd", false, "U+200B, an invisible format character"},
		{"byte order mark", "\uFEFFprod", false, "U+FEFF"},
		{"soft hyphen", "pro\u00ADd", false, "U+00AD"},
		{"line separator", "a\u2028b", true, "U+2028"},
		{"newline in a name", "a\nb", false, "control character U+000A"},
		{"NUL in a description", "a\x00b", true, "control character U+0000"},
		{"escape", "a\x1b[31mb", true, "U+001B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Problem(tc.s, tc.multiline)
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("Problem(%q) = %q, want %q", tc.s, got, tc.want)
			}
			err := Field("name", tc.s, tc.multiline)
			var ae *apierr.Error
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Field: %v", err)
				}
				return
			}
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != apierr.InvalidFieldValue || ae.Details["field"] != "name" {
				t.Fatalf("Field: %v", err)
			}
		})
	}
}
