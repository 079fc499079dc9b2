package catalog_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestJoinHealth: a decoded record joins as the record says, each level's
// result under its key and naming the integration and that level (also
// from a record of the API's shape whose result left its level out), times
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
	it := contracts.Integration{ID: "i1"}
	catalog.JoinHealth(&it, value)
	ms := at.Truncate(time.Millisecond)
	want := map[contracts.CheckType]contracts.HealthCheckResult{}
	for ct, r := range rec.Checks {
		r.CheckedAt, r.CheckType = ms, ct
		want[ct] = r
	}
	if it.HealthStatus != "degraded" || it.CircuitBreaker != "half-open" || it.LastHealthCheck == nil || !it.LastHealthCheck.Equal(ms) {
		t.Errorf("joined %s %s %v", it.HealthStatus, it.CircuitBreaker, it.LastHealthCheck)
	}
	if !reflect.DeepEqual(it.HealthChecks, want) {
		t.Errorf("checks %+v, want %+v", it.HealthChecks, want)
	}
	it.HealthChecks[contracts.CheckConnectivity] = contracts.HealthCheckResult{}
	again := contracts.Integration{ID: "i1"}
	catalog.JoinHealth(&again, value)
	if !reflect.DeepEqual(again.HealthChecks, want) {
		t.Error("a reader's change reached another read's checks")
	}
	// No record, or one that does not decode: unknown, whatever the
	// integration held before.
	for _, v := range [][]byte{nil, []byte(`{"status":"bogus"}`), []byte(`not json`)} {
		none := it
		catalog.JoinHealth(&none, v)
		if none.HealthStatus != contracts.HealthUnknown || none.HealthChecks != nil || none.LastHealthCheck != nil || none.CircuitBreaker != "" {
			t.Errorf("record %q joined %+v", v, none)
		}
	}
}

// TestHealthRecordShapes: the bucket's compact shape names neither tenant,
// integration nor level inside the record, is under 60 % of the API's shape
// for three levels, and a record of either shape reads back the same.
func TestHealthRecordShapes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)
	id := "0193a3c1-7e2a-7c3e-9a51-2b8f0c4d5e6f"
	full := contracts.IntegrationHealth{TenantID: tenantA, IntegrationID: id, Status: contracts.HealthUnhealthy, LastCheck: &at, Breaker: "closed",
		Checks: map[contracts.CheckType]contracts.HealthCheckResult{
			contracts.CheckConnectivity:   {IntegrationID: id, CheckType: contracts.CheckConnectivity, Status: "healthy", LatencyMs: 4, CheckedAt: at},
			contracts.CheckAuthentication: {IntegrationID: id, CheckType: contracts.CheckAuthentication, Status: "unhealthy", ErrorCode: "AUTH_FAILED", Message: "401", CheckedAt: at},
			contracts.CheckFunctionality:  {IntegrationID: id, CheckType: contracts.CheckFunctionality, Status: "healthy", LatencyMs: 12, CheckedAt: at},
		}}
	// The same record as the health-scheduler keeps and stores it.
	stored := catalog.HealthRecord{Status: full.Status, LastCheck: &at, Breaker: "closed", Checks: map[contracts.CheckType]catalog.LevelResult{}}
	for ct, r := range full.Checks {
		stored.Checks[ct] = catalog.LevelOf(r)
	}
	apiShape, _ := json.Marshal(full)
	compact, _ := json.Marshal(stored)
	for _, name := range []string{`"tenantId"`, `"integrationId"`, `"checkType"`} {
		if strings.Contains(string(compact), name) {
			t.Errorf("the stored record repeats %s: %s", name, compact)
		}
	}
	if len(compact)*10 > len(apiShape)*6 {
		t.Errorf("stored record %d bytes, the API's shape %d: want under 60 %%", len(compact), len(apiShape))
	}
	if got := stored.Health(tenantA, id); !reflect.DeepEqual(got, full) {
		t.Errorf("LevelOf then Health: %+v, want %+v", got, full)
	}
	for _, tt := range []struct {
		name  string
		value []byte
	}{{"compact", compact}, {"API shape, as written before", apiShape}} {
		t.Run(tt.name, func(t *testing.T) {
			var rec catalog.HealthRecord
			if err := json.Unmarshal(tt.value, &rec); err != nil {
				t.Fatal(err)
			}
			if got := rec.Health(tenantA, id); !reflect.DeepEqual(got, full) {
				t.Errorf("decoded %+v, want %+v", got, full)
			}
			it := contracts.Integration{ID: id, TenantID: tenantA}
			catalog.JoinHealth(&it, tt.value)
			if r := it.HealthChecks[contracts.CheckAuthentication]; r.IntegrationID != id || r.CheckType != contracts.CheckAuthentication || r.ErrorCode != "AUTH_FAILED" || it.HealthStatus != contracts.HealthUnhealthy {
				t.Errorf("joined %s %+v", it.HealthStatus, r)
			}
		})
	}
}
