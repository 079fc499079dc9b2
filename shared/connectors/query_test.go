package connectors_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestCheckMetricsQuery(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	tests := []struct {
		name string
		q    contracts.MetricsQuery
		ok   bool
	}{
		{"instant", contracts.MetricsQuery{Query: "up"}, true},
		{"instant at a time", contracts.MetricsQuery{Query: "up", Time: at(0)}, true},
		{"range", contracts.MetricsQuery{Query: "up", Start: at(-time.Hour), End: at(0), StepSeconds: 60}, true},
		{"range of exactly the most points", contracts.MetricsQuery{Query: "up", Start: at(-10999 * time.Second), End: at(0), StepSeconds: 1}, true},
		{"empty", contracts.MetricsQuery{}, false},
		{"huge", contracts.MetricsQuery{Query: strings.Repeat("x", connectors.MaxQueryLength+1)}, false},
		{"end without start", contracts.MetricsQuery{Query: "up", End: at(0)}, false},
		{"range without step", contracts.MetricsQuery{Query: "up", Start: at(-time.Hour), End: at(0)}, false},
		{"range and time", contracts.MetricsQuery{Query: "up", Time: at(0), Start: at(-time.Hour), End: at(0), StepSeconds: 60}, false},
		{"end before start", contracts.MetricsQuery{Query: "up", Start: at(0), End: at(-time.Hour), StepSeconds: 60}, false},
		{"too many points", contracts.MetricsQuery{Query: "up", Start: at(-11000 * time.Second), End: at(0), StepSeconds: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := connectors.CheckMetricsQuery(tc.q)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckMetricsQuery: %v, want ok=%v", err, tc.ok)
			}
			if err != nil && (!errors.Is(err, connectors.ErrBadQuery) || resilience.CodeOf(err) != resilience.InvalidConfig) {
				t.Fatalf("error %v is not an INVALID_CONFIG bad query", err)
			}
		})
	}
}
