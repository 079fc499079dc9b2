package main

import (
	"encoding/json"
	"testing"

	"github.com/stella-ops/inthub/shared/contracts"
)

// TestRequestIDOf: the bench's shortcut finds the id the hub's encoding
// wrote, and falls back to decoding when the shortcut can't be trusted.
func TestRequestIDOf(t *testing.T) {
	t.Parallel()
	encoded := func(id string) []byte {
		b, err := json.Marshal(contracts.TestCompleted{RequestID: id, TenantID: "bench", IntegrationID: "i7", Success: true})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		body    []byte
		want    string
		wantErr bool
	}{
		{name: "as the hub encodes it", body: encoded("12345"), want: "12345"},
		{name: "an escape: decoded", body: encoded(`a"b`), want: `a"b`},
		{name: "html escaped by encoding/json: decoded", body: encoded("<1>"), want: "<1>"},
		{name: "other spacing: decoded", body: []byte(`{"requestId" : "9"}`), want: "9"},
		{name: "no id", body: []byte(`{"tenantId":"bench"}`), want: ""},
		{name: "not JSON", body: []byte(`{"requestId":`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := requestIDOf(tt.body)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("requestIDOf(%s) = %q, %v; want %q, error %v", tt.body, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
