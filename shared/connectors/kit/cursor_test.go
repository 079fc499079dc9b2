package kit_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestCursorRoundTripAndTamper(t *testing.T) {
	t.Parallel()
	type runCursor struct {
		kit.Position
		Run int64 `json:"r,omitempty"`
	}
	valid := func(c runCursor) bool { return c.Position.Valid() && c.Run >= 0 }
	good := kit.EncodeCursor(runCursor{Position: kit.Position{Page: "page=3&per_page=100", Skip: 7}, Run: 42})
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		cursor string
		want   runCursor
		code   resilience.Code
	}{
		{"first page", "", runCursor{}, ""},
		{"round trip", good, runCursor{Position: kit.Position{Page: "page=3&per_page=100", Skip: 7}, Run: 42}, ""},
		{"too long", strings.Repeat("A", kit.MaxCursorLength+1), runCursor{}, resilience.InvalidConfig},
		{"not base64url", good + "!", runCursor{}, resilience.InvalidConfig},
		{"standard base64 padding", base64.StdEncoding.EncodeToString([]byte(`{"q":"a=1"}`)) + "==", runCursor{}, resilience.InvalidConfig},
		{"not JSON", raw("page=3"), runCursor{}, resilience.InvalidConfig},
		{"unknown field", raw(`{"q":"a=1","x":1}`), runCursor{}, resilience.InvalidConfig},
		{"trailing data", raw(`{"q":"a=1"}{}`), runCursor{}, resilience.InvalidConfig},
		{"negative skip", raw(`{"q":"a=1","s":-1}`), runCursor{}, resilience.InvalidConfig},
		{"empty position", raw(`{}`), runCursor{}, resilience.InvalidConfig},
		{"negative run", raw(`{"q":"a=1","r":-5}`), runCursor{}, resilience.InvalidConfig},
		{"wrong type", raw(`{"q":5}`), runCursor{}, resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := kit.DecodeCursor(tc.cursor, valid)
			connectortest.CheckCode(t, err, tc.code)
			if got != tc.want {
				t.Fatalf("DecodeCursor = %+v, want %+v", got, tc.want)
			}
		})
	}
	if len(good) > 100 || strings.ContainsAny(good, "+/=") {
		t.Fatalf("cursor %q is not short and URL-safe", good)
	}
	if _, err := (kit.Position{Page: "a=%zz"}).Query(); resilience.CodeOf(err) != resilience.InvalidConfig {
		t.Fatalf("malformed query in a cursor: %v", err)
	}
}
