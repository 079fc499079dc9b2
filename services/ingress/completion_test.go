package ingress

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

func TestSplitCompletion(t *testing.T) {
	t.Parallel()
	result := `{"resourceType":"tags","items":[{"type":"tags","name":"v1 \"}{[\\","attributes":{"n":[1,-2.5e3,true,null]}}],"cacheHit":false,"ageSeconds":0,"discoveredAt":"2026-12-06T00:00:00Z"}`
	for _, tc := range []struct {
		name, body string
		ok         bool
		id, res    string
		code       string
	}{
		{name: "result", body: `{"requestId":"r-1","tenantId":"t","integrationId":"i","result":` + result + `}`, ok: true, id: "r-1", res: result},
		{name: "spaced", body: " {\n \"requestId\" : \"r\" ,\t\"result\" :" + result + " }\r\n", ok: true, id: "r", res: result},
		{name: "error", body: `{"requestId":"r","error":{"code":"RATE_LIMITED","message":"m","details":{"retryAfterSeconds":3}}}`, ok: true, id: "r", code: "RATE_LIMITED"},
		{name: "error and result", body: `{"requestId":"r","result":{},"error":{"code":"X","message":"m"}}`, ok: true, id: "r", res: `{}`, code: "X"},
		{name: "null members", body: `{"requestId":null,"result":null,"error":null}`, ok: true},
		{name: "escaped id", body: `{"requestId":"a\u0062c","result":{}}`, ok: true, id: "abc", res: `{}`},
		{name: "later member wins", body: `{"requestId":"a","requestId":"b","result":{}}`, ok: true, id: "b", res: `{}`},
		{name: "unknown members skipped", body: `{"x":[{"y":"}"}],"requestId":"r","result":{}}`, ok: true, id: "r", res: `{}`},
		{name: "empty object", body: `{}`, ok: true},
		{name: "result not an object", body: `{"requestId":"r","result":[1]}`},
		{name: "error not an object", body: `{"requestId":"r","error":"boom"}`},
		{name: "id not a string", body: `{"requestId":7,"result":{}}`},
		{name: "unterminated result", body: `{"requestId":"r","result":{"items":[}`},
		{name: "bad string in result", body: `{"requestId":"r","result":{"a":"` + "\x01" + `"}}`},
		{name: "bad escape", body: `{"requestId":"r","result":{"a":"\x"}}`},
		{name: "trailing data", body: `{"requestId":"r","result":{}} {}`},
		{name: "trailing comma", body: `{"requestId":"r","result":{},}`},
		{name: "not json", body: `not json`},
		{name: "empty", body: ``},
	} {
		c, ok := splitCompletion([]byte(tc.body))
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		code := ""
		if c.Error != nil {
			code = c.Error.Code
		}
		if c.RequestID != tc.id || string(c.Result) != tc.res || code != tc.code {
			t.Errorf("%s: got id %q result %q error %q, want %q %q %q", tc.name, c.RequestID, c.Result, code, tc.id, tc.res, tc.code)
		}
	}
}

// The worker's encoding of any completion splits into the request id and
// the exact bytes of its result, or its error decoded as encoding/json
// decodes it.
func TestSplitCompletionOfEncodedCompletions(t *testing.T) {
	t.Parallel()
	items := []contracts.Resource{{Type: "tags", Name: "<v1> & \u2028 \"q\" \\ é", ID: "x"}, {Type: "tags", Name: "v2",
		Attributes: map[string]any{"digest": "sha256:ab", "size": 12.5, "tags": []any{"a", nil, false}, "nested": map[string]any{"k": "}"}}}}
	for _, done := range []contracts.DiscoveryCompleted{
		{RequestID: "r-1", TenantID: "t", IntegrationID: "i", Result: &contracts.DiscoveryResult{ResourceType: "tags", Items: items,
			NextCursor: "c", DiscoveredAt: time.Date(2026, 12, 6, 1, 2, 3, 4, time.UTC)}},
		{RequestID: "r-2", TenantID: "t", IntegrationID: "i", Result: &contracts.DiscoveryResult{ResourceType: "repositories", Items: []contracts.Resource{}}},
		{RequestID: "r-3", TenantID: "t", IntegrationID: "i", Error: &contracts.ErrorBody{Code: "RATE_LIMITED", Message: "slow <down>",
			Details: map[string]any{"retryAfterSeconds": 3.0}}},
	} {
		data, err := json.Marshal(done)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := splitCompletion(data)
		if !ok || c.RequestID != done.RequestID {
			t.Fatalf("%s: ok %v, id %q", data, ok, c.RequestID)
		}
		if done.Result != nil {
			want, _ := json.Marshal(done.Result)
			if !bytes.Equal(c.Result, want) {
				t.Errorf("result %s, want %s", c.Result, want)
			}
		}
		if done.Error != nil {
			if c.Error == nil || c.Error.Code != done.Error.Code || c.Error.Message != done.Error.Message ||
				c.Error.Details["retryAfterSeconds"] != 3.0 {
				t.Errorf("error %+v, want %+v", c.Error, done.Error)
			}
		}
		if requestIDOf(data) != done.RequestID {
			t.Errorf("requestIDOf disagrees on %s", data)
		}
	}
}

// skipValue accepts exactly what json.Valid accepts.
func FuzzSkipValueMatchesJSONValid(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `""`, `0`, `-0.5e+10`, `01`, `1.`, `.5`, `-`, `1e`, `"\u00zz"`, `"\ud800"`, "\"\xff\"",
		`{"a":[1,2,{"b":null}],"c":true,"d":false}`, `[1,]`, `{"a"}`, `{"a":1,}`, ` [ 1 , 2 ] `, `tru`, `nul`, `"a\"b"`, "[\"\t\"]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end, ok := skipValue(b, skipSpace(b, 0), 1)
		got := ok && skipSpace(b, end) == len(b)
		if want := json.Valid(b); got != want {
			t.Fatalf("skipValue(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

// Nesting deeper than encoding/json allows is refused, without running out
// of stack.
func TestSkipValueNestingLimit(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{maxNesting, maxNesting + 1} {
		b := append(bytes.Repeat([]byte("["), depth), bytes.Repeat([]byte("]"), depth)...)
		end, ok := skipValue(b, 0, 1)
		got := ok && end == len(b)
		if want := json.Valid(b); got != want {
			t.Errorf("depth %d: %v, json.Valid %v", depth, got, want)
		}
	}
}

func BenchmarkRespondSplit(b *testing.B) {
	items := make([]contracts.Resource, 200)
	for i := range items {
		items[i] = contracts.Resource{Type: "repositories", Name: "team/service-000", ID: "team/service-000"}
	}
	data, _ := json.Marshal(contracts.DiscoveryCompleted{RequestID: "r", TenantID: "t", IntegrationID: "i",
		Result: &contracts.DiscoveryResult{ResourceType: "repositories", Items: items}})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, ok := splitCompletion(data); !ok {
			b.Fatal("not split")
		}
	}
}
