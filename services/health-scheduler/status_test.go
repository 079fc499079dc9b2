package healthscheduler

import (
	"testing"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	ok   = contracts.HealthHealthy
	bad  = contracts.HealthUnhealthy
	slow = contracts.HealthDegraded
)

func TestAntiFlapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		results []contracts.HealthStatus
		want    []contracts.HealthStatus // confirmed after each result
	}{
		{"first result is taken at once", []contracts.HealthStatus{bad}, []contracts.HealthStatus{bad}},
		{"one odd result does not flip", []contracts.HealthStatus{ok, bad, ok}, []contracts.HealthStatus{ok, ok, ok}},
		{"two in a row flip", []contracts.HealthStatus{ok, bad, bad}, []contracts.HealthStatus{ok, ok, bad}},
		{"alternating never flips", []contracts.HealthStatus{ok, bad, slow, bad, slow}, []contracts.HealthStatus{ok, ok, ok, ok, ok}},
		{"recovery needs two too", []contracts.HealthStatus{bad, ok, ok}, []contracts.HealthStatus{bad, bad, ok}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f flapState
			for i, r := range tc.results {
				f = f.observe(r, 2)
				if f.Confirmed != tc.want[i] {
					t.Fatalf("after result %d (%s): confirmed %s, want %s", i, r, f.Confirmed, tc.want[i])
				}
			}
		})
	}
}

func TestOverall(t *testing.T) {
	t.Parallel()
	r := func(s contracts.HealthStatus, code resilience.Code) catalog.LevelResult {
		return catalog.LevelResult{Status: s, ErrorCode: string(code)}
	}
	st := func(c, a, f contracts.HealthStatus) map[contracts.CheckType]catalog.LevelResult {
		m := map[contracts.CheckType]catalog.LevelResult{}
		if c != "" {
			m[contracts.CheckConnectivity] = r(c, "")
		}
		if a != "" {
			m[contracts.CheckAuthentication] = r(a, "")
		}
		if f != "" {
			m[contracts.CheckFunctionality] = r(f, resilience.UpstreamError)
		}
		return m
	}
	unreachableSeenByFunctionality := st(ok, ok, "")
	unreachableSeenByFunctionality[contracts.CheckFunctionality] = r(bad, resilience.ConnectionRefused)
	tests := []struct {
		name string
		in   map[contracts.CheckType]catalog.LevelResult
		want contracts.HealthStatus
	}{
		{"nothing ran", st("", "", ""), contracts.HealthUnknown},
		{"all pass", st(ok, ok, ok), ok},
		{"only connectivity ran", st(ok, "", ""), ok},
		{"unreachable", st(bad, ok, ok), bad},
		{"bad credentials", st(ok, bad, ""), bad},
		{"bad credentials before connectivity ran", st("", bad, ""), bad},
		{"authentication passed, connectivity not yet run", st("", ok, ""), contracts.HealthUnknown},
		{"authentication and functionality passed, connectivity not yet run", st("", ok, ok), contracts.HealthUnknown},
		{"operations fail, connectivity not yet run", st("", ok, bad), contracts.HealthUnknown},
		{"operations fail", st(ok, ok, bad), slow},
		{"throttled", st(ok, slow, ok), slow},
		{"unreachable, noticed by functionality", unreachableSeenByFunctionality, bad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := overall(tc.in); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
