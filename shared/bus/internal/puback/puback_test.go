package puback

import (
	"encoding/json"
	"testing"
)

// viaJSON is what encoding/json makes of data, decoded as the JetStream
// client decodes an acknowledgement (its members beside "error" and "type").
func viaJSON(data []byte) (Ack, error) {
	var v struct {
		Stream    string `json:"stream"`
		Sequence  uint64 `json:"seq"`
		Duplicate bool   `json:"duplicate,omitempty"`
		Domain    string `json:"domain,omitempty"`
		Value     string `json:"val,omitempty"`
	}
	err := json.Unmarshal(data, &v)
	return Ack(v), err
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Ack
		ok   bool
	}{
		{"server's ack", `{"stream":"EVENTS","seq":42}`, Ack{Stream: "EVENTS", Sequence: 42}, true},
		{"server's duplicate ack", `{"stream":"EVENTS","seq":42,"duplicate": true}`, Ack{Stream: "EVENTS", Sequence: 42, Duplicate: true}, true},
		{"with a domain", `{"stream":"KV_integrations","domain":"hub","seq":7}`, Ack{Stream: "KV_integrations", Domain: "hub", Sequence: 7}, true},
		{"spaces everywhere", " {\n\t\"stream\" : \"S\" ,\r\"seq\" : 0 , \"duplicate\":false, \"val\":\"v\" } ", Ack{Stream: "S", Value: "v"}, true},
		{"largest sequence read here", `{"stream":"S","seq":9999999999999999999}`, Ack{Stream: "S", Sequence: 9999999999999999999}, true},
		{"empty object", `{}`, Ack{}, true},
		{"error answer", `{"error":{"code":503,"err_code":10039,"description":"jetstream not enabled"}}`, Ack{}, false},
		{"type member", `{"type":"io.nats.jetstream.api.v1.pub_ack","stream":"S","seq":1}`, Ack{}, false},
		{"other case", `{"Stream":"S","seq":1}`, Ack{}, false},
		{"repeated member", `{"stream":"S","stream":"T","seq":1}`, Ack{}, false},
		{"escape", `{"stream":"S\u0041","seq":1}`, Ack{}, false},
		{"non-ASCII", `{"stream":"Sé","seq":1}`, Ack{}, false},
		{"negative", `{"stream":"S","seq":-1}`, Ack{}, false},
		{"fraction", `{"stream":"S","seq":1.0}`, Ack{}, false},
		{"exponent", `{"stream":"S","seq":1e3}`, Ack{}, false},
		{"leading zero", `{"stream":"S","seq":01}`, Ack{}, false},
		{"twenty digits", `{"stream":"S","seq":18446744073709551615}`, Ack{}, false},
		{"null", `{"stream":null,"seq":1}`, Ack{}, false},
		{"trailing data", `{"stream":"S","seq":1}x`, Ack{}, false},
		{"empty object then data", `{}0`, Ack{}, false},
		{"trailing comma", `{"stream":"S","seq":1,}`, Ack{}, false},
		{"not an object", `["S",1]`, Ack{}, false},
		{"truncated", `{"stream":"S","seq":1`, Ack{}, false},
		{"bool then letters", `{"duplicate":truex}`, Ack{}, false},
		{"empty", ``, Ack{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse([]byte(tt.in))
			if ok != tt.ok || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok {
				want, err := viaJSON([]byte(tt.in))
				if err != nil || want != got {
					t.Fatalf("encoding/json reads %q as %+v (err %v), Parse as %+v", tt.in, want, err, got)
				}
			}
		})
	}
}

// FuzzParse checks that wherever Parse answers, encoding/json decodes the
// same bytes without error to the same acknowledgement.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"stream":"EVENTS","seq":42}`, `{"stream":"EVENTS","seq":42,"duplicate": true}`,
		`{"stream":"KV_x","domain":"d","seq":7}`, `{"val":"1","stream":"S","seq":0}`, `{}`,
		`{"error":{"code":400,"description":"x"}}`, `{"stream":"S","seq":1e1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := Parse(data)
		if !ok {
			if got != (Ack{}) {
				t.Fatalf("Parse(%q) refused but returned %+v", data, got)
			}
			return
		}
		want, err := viaJSON(data)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but encoding/json refuses it: %v", data, got, err)
		}
		if want != got {
			t.Fatalf("Parse(%q) = %+v, encoding/json %+v", data, got, want)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	ack := []byte(`{"stream":"EVENTS","seq":123456789}`)
	b.Run("puback", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := Parse(ack); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := viaJSON(ack); err != nil {
				b.Fatal(err)
			}
		}
	})
}
