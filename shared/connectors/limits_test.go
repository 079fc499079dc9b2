package connectors_test

import (
	"errors"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/httpx"
)

// TestRequestLimitsAreCommonFields: every provider has the outbound request
// limits, refuses values outside their bounds when a config is saved, and
// hands them (or their defaults) to the guarded client.
func TestRequestLimitsAreCommonFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      map[string]any
		code     string // "" = accepted
		field    string
		wantRate float64
		wantConc int
	}{
		{"defaults", map[string]any{}, "", "", 20, 8},
		{"set", map[string]any{"rateLimitPerSecond": float64(5), "maxConcurrentRequests": float64(2)}, "", "", 5, 2},
		{"rate zero", map[string]any{"rateLimitPerSecond": float64(0)}, apierr.InvalidFieldValue, "rateLimitPerSecond", 0, 0},
		{"rate too high", map[string]any{"rateLimitPerSecond": float64(10001)}, apierr.InvalidFieldValue, "rateLimitPerSecond", 0, 0},
		{"rate not whole", map[string]any{"rateLimitPerSecond": 2.5}, apierr.InvalidFieldType, "rateLimitPerSecond", 0, 0},
		{"concurrency zero", map[string]any{"maxConcurrentRequests": float64(0)}, apierr.InvalidFieldValue, "maxConcurrentRequests", 0, 0},
		{"concurrency too high", map[string]any{"maxConcurrentRequests": float64(257)}, apierr.InvalidFieldValue, "maxConcurrentRequests", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ruleSpec.ValidateConfig(tc.cfg)
			if tc.code != "" {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Code != tc.code || ae.Details["field"] != tc.field {
					t.Fatalf("got %v, want %s on %s", err, tc.code, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			o := connectors.HTTPOptions(connectors.NewValues(ruleSpec, tc.cfg), httpx.GuardPolicy{}, nil)
			if o.RateLimit != tc.wantRate || o.MaxConcurrent != tc.wantConc {
				t.Errorf("options rate %v concurrency %d, want %v %d", o.RateLimit, o.MaxConcurrent, tc.wantRate, tc.wantConc)
			}
		})
	}
}
