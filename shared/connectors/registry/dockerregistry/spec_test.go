package dockerregistry

import (
	"errors"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/connectors"
)

func TestSpecValidatesTheSpecsConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		ok     bool
	}{
		{"the documented example", map[string]any{"url": "https://registry.example.com", "repository": "myorg"}, true},
		{"every field", map[string]any{"url": "https://r.example", "repository": "myorg/app", "resolveDigests": true, "insecureSkipVerify": true, "timeout": float64(5)}, true},
		{"no url", map[string]any{"repository": "myorg"}, false},
		{"unknown field", map[string]any{"url": "https://r.example", "namespace": "x"}, false},
		{"resolveDigests not a boolean", map[string]any{"url": "https://r.example", "resolveDigests": "yes"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Spec.ValidateConfig(tc.config)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateConfig: %v, want ok=%v", err, tc.ok)
			}
			var apiErr *apierr.Error
			if err != nil && !errors.As(err, &apiErr) {
				t.Fatalf("error %T is not an API error", err)
			}
		})
	}
	info := Spec.Info()
	if !info.SupportsDiscovery || len(info.SupportedResourceTypes) != 2 || info.IsTestOnly {
		t.Fatalf("provider info %+v", info)
	}
	if s, ok := connectors.NewRegistry(Spec).Lookup("Docker-Registry"); !ok || s != Spec {
		t.Fatal("the registry does not find docker-registry")
	}
}
