package audit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/contracts"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	fields := Fields{
		Skip:   []string{"id", "updatedAt"},
		Expand: []string{"config", "labels"},
		Secret: func(f string) bool { return f == "config.tokenRef" || f == "credentialRef" },
	}
	long := strings.Repeat("x", MaxValueBytes)
	tests := []struct {
		name          string
		before, after map[string]any
		want          []contracts.FieldChange
	}{
		{"create lists every set field", nil,
			map[string]any{"id": "1", "name": "a", "description": "", "config": map[string]any{"url": "u", "tokenRef": "vault://s/p#k"}, "labels": map[string]any{}},
			[]contracts.FieldChange{
				{Field: "config.tokenRef", ValuesOmitted: contracts.OmittedSecret},
				{Field: "config.url", New: "u"},
				{Field: "name", New: "a"},
			}},
		{"update keeps old and new of plain fields only",
			map[string]any{"name": "a", "updatedAt": "t1", "labels": map[string]any{"env": "dev", "team": "x"}, "credentialRef": "env://A"},
			map[string]any{"name": "b", "updatedAt": "t2", "labels": map[string]any{"team": "x", "tier": "1"}, "credentialRef": "env://B"},
			[]contracts.FieldChange{
				{Field: "credentialRef", ValuesOmitted: contracts.OmittedSecret},
				{Field: "labels.env", Old: "dev"},
				{Field: "labels.tier", New: "1"},
				{Field: "name", Old: "a", New: "b"},
			}},
		{"nothing changed", map[string]any{"name": "a", "disabled": false}, map[string]any{"name": "a", "disabled": false}, nil},
		{"empty string and absent are the same", map[string]any{"description": ""}, map[string]any{}, nil},
		{"objects compare whole", map[string]any{"match": map[string]any{"eventTypes": []any{"a"}}},
			map[string]any{"match": map[string]any{"eventTypes": []any{"a", "b"}}},
			[]contracts.FieldChange{{Field: "match", Old: map[string]any{"eventTypes": []any{"a"}}, New: map[string]any{"eventTypes": []any{"a", "b"}}}}},
		{"a long value is recorded without values", map[string]any{"description": "short"}, map[string]any{"description": long},
			[]contracts.FieldChange{{Field: "description", ValuesOmitted: contracts.OmittedTooLarge}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var before any
			if tc.before != nil {
				before = tc.before
			}
			got := fields.Diff(before, tc.after)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if mustString(got[i]) != mustString(tc.want[i]) {
					t.Errorf("change %d: %s, want %s", i, mustString(got[i]), mustString(tc.want[i]))
				}
			}
		})
	}
}

func mustString(c contracts.FieldChange) string {
	b, _ := jsonMarshal(c)
	return string(b)
}

func TestCheckActor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		actor *contracts.Actor
		ok    bool
	}{
		{nil, true},
		{&contracts.Actor{Kind: contracts.ActorToken, Name: "ci"}, true},
		{&contracts.Actor{Kind: contracts.ActorOIDC, Name: "u-1", Issuer: "https://login.example.com"}, true},
		{&contracts.Actor{Kind: contracts.ActorService, Name: "orchestrator"}, true},
		{&contracts.Actor{Kind: "root", Name: "x"}, false},
		{&contracts.Actor{Kind: contracts.ActorToken}, false},
		{&contracts.Actor{Kind: contracts.ActorToken, Name: "a\nb"}, false},
		{&contracts.Actor{Kind: contracts.ActorToken, Name: strings.Repeat("n", 257)}, false},
	} {
		if err := CheckActor(tc.actor); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.actor, err, tc.ok)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, seq := range []uint64{1, 42, 1 << 40} {
		got, err := decodeCursor(EncodeCursor(seq))
		if err != nil || got != seq {
			t.Errorf("%d: %d %v", seq, got, err)
		}
	}
	for _, bad := range []string{"", "nope", EncodeCursor(0), "YTotMQ"} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// TestTooLargeMatchesTheEncodedLength: the shortcuts for strings and numbers
// say what measuring the encoded value says, at the bound and around it.
func TestTooLargeMatchesTheEncodedLength(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"bool", true},
		{"short string", "abc"},
		{"string at the shortcut's bound", strings.Repeat("x", (MaxValueBytes-2)/6)},
		{"escapes at the shortcut's bound", strings.Repeat("<", (MaxValueBytes-2)/6)},
		{"string that fits", strings.Repeat("x", MaxValueBytes-2)},
		{"string one over", strings.Repeat("x", MaxValueBytes-1)},
		{"escapes that do not fit", strings.Repeat("<", MaxValueBytes/6+1)},
		{"invalid UTF-8", strings.Repeat("\xff", 200)},
		{"number", json.Number("12345")},
		{"long number", json.Number(strings.Repeat("9", MaxValueBytes+1))},
		{"map", map[string]any{"k": strings.Repeat("x", MaxValueBytes)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			want := err != nil || (tt.v != nil && len(b) > MaxValueBytes)
			if got := tooLarge(tt.v); got != want {
				t.Fatalf("tooLarge = %v, want %v (encoded %d bytes)", got, want, len(b))
			}
		})
	}
}
