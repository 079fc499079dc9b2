package prometheus

import (
	"context"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestSpecAndConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		ok     bool
	}{
		{"url", map[string]any{"url": "https://prometheus.example.com"}, true},
		{"url under a prefix", map[string]any{"url": "https://example.com/prometheus/"}, true},
		{"no url", map[string]any{}, false},
		{"user info", map[string]any{"url": "https://u:p@prometheus.example.com"}, false},
		{"not http", map[string]any{"url": "ftp://prometheus.example.com"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Spec.ValidateConfig(tc.config); (err == nil) != tc.ok {
				t.Fatalf("ValidateConfig: %v, want ok=%v", err, tc.ok)
			}
			c, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.config}, HTTP: connectortest.HTTP(t, nil, nil)})
			if !tc.ok {
				if resilience.CodeOf(err) != resilience.InvalidConfig {
					t.Fatalf("New: %v, want INVALID_CONFIG", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_ = c.Close()
		})
	}
	if s, ok := connectors.NewRegistry(Spec).Lookup(ProviderID); !ok || s.Category != connectors.CategoryMetrics || s.SupportsDiscovery() {
		t.Fatalf("spec lookup: %+v %v", s, ok)
	}
}
