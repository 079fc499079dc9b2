package catalog_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestJoinHealth: a decoded record joins as the record says, each level's
// result under its key (even one whose result names another level), times
// at millisecond precision, as a map of the reader's own.
func TestJoinHealth(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)
	rec := contracts.IntegrationHealth{TenantID: tenantA, IntegrationID: "i1", Status: contracts.HealthStatus("degraded"), LastCheck: &at, Breaker: "half-open",
		Checks: map[contracts.CheckType]contracts.HealthCheckResult{
			contracts.CheckConnectivity:   {IntegrationID: "i1", CheckType: contracts.CheckConnectivity, Status: "healthy", LatencyMs: 4, CheckedAt: at},
			contracts.CheckAuthentication: {IntegrationID: "i1", CheckType: contracts.CheckAuthentication, Status: "unhealthy", ErrorCode: "AUTH_FAILED", Message: "401", CheckedAt: at},
			contracts.CheckFunctionality:  {IntegrationID: "i1", Status: "healthy", CheckedAt: at}, // no checkType in the result
		}}
	value, _ := json.Marshal(rec)
	h := catalog.DecodeHealth(value)
	var it contracts.Integration
	h.Join(&it)
	ms := at.Truncate(time.Millisecond)
	want := map[contracts.CheckType]contracts.HealthCheckResult{}
	for ct, r := range rec.Checks {
		r.CheckedAt = ms
		want[ct] = r
	}
	if it.HealthStatus != "degraded" || it.CircuitBreaker != "half-open" || it.LastHealthCheck == nil || !it.LastHealthCheck.Equal(ms) {
		t.Errorf("joined %s %s %v", it.HealthStatus, it.CircuitBreaker, it.LastHealthCheck)
	}
	if !reflect.DeepEqual(it.HealthChecks, want) {
		t.Errorf("checks %+v, want %+v", it.HealthChecks, want)
	}
	it.HealthChecks[contracts.CheckConnectivity] = contracts.HealthCheckResult{}
	var again contracts.Integration
	h.Join(&again)
	if !reflect.DeepEqual(again.HealthChecks, want) {
		t.Error("a reader's change reached the decoded record")
	}
	var none contracts.Integration
	catalog.DecodeHealth(nil).Join(&none)
	if none.HealthStatus != contracts.HealthUnknown || none.HealthChecks != nil {
		t.Errorf("no record joined %+v", none)
	}
}
