package catalog

import (
	"encoding/json"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// JoinHealth sets it's health fields from value, a record of the health
// bucket (nil: none): unknown when there is none or it does not decode,
// times at millisecond precision. The manager's reads and the ingress's
// read model answer the same integration with the same health this way.
//
// Nobody keeps a decoded record: the ingress keeps each record's bytes and
// its encoded answers, the manager reads the bucket, so the record is
// decoded for each join, each result naming the integration and its level,
// the checks a map of the caller's own.
func JoinHealth(it *contracts.Integration, value []byte) {
	it.HealthStatus, it.LastHealthCheck, it.HealthChecks, it.CircuitBreaker = contracts.HealthUnknown, nil, nil, ""
	var rec HealthRecord
	if value == nil || json.Unmarshal(value, &rec) != nil || !rec.Status.Valid() {
		return
	}
	if rec.LastCheck != nil {
		t := rec.LastCheck.UTC().Truncate(time.Millisecond)
		rec.LastCheck = &t
	}
	for ct, r := range rec.Checks {
		r.CheckedAt = r.CheckedAt.UTC().Truncate(time.Millisecond)
		rec.Checks[ct] = r
	}
	// The per-level results say why: which level failed, its code and its
	// message (scrubbed of credentials by the connector kit before the
	// scheduler stored them).
	h := rec.Health(it.TenantID, it.ID)
	it.HealthStatus, it.LastHealthCheck, it.HealthChecks, it.CircuitBreaker = h.Status, h.LastCheck, h.Checks, h.Breaker
}

// HealthRecord is a record of the health bucket as the health-scheduler
// stores it. The key (<tenantId>.<integrationId>) names the integration and
// each level's result sits under its level, so neither the record nor its
// results repeat them: about 400 bytes for three levels where the API's
// shape (contracts.IntegrationHealth) takes about 740, and the bucket's
// blocks, every copy of a record and every decode shrink with it. Records
// of the API's shape, as written before, decode to the same HealthRecord:
// their extra fields are ignored.
type HealthRecord struct {
	Status    contracts.HealthStatus              `json:"status"`
	LastCheck *time.Time                          `json:"lastCheck,omitempty"`
	Checks    map[contracts.CheckType]LevelResult `json:"checks,omitempty"`
	// Breaker is the circuit breaker's state: closed, open or half-open.
	Breaker string `json:"breaker,omitempty"`
}

// LevelResult is one level's latest result in a HealthRecord: a
// contracts.HealthCheckResult without the integration and level it is
// stored under.
type LevelResult struct {
	Status    contracts.HealthStatus `json:"status"`
	LatencyMs int64                  `json:"latencyMs"`
	ErrorCode string                 `json:"errorCode,omitempty"`
	Message   string                 `json:"message,omitempty"`
	CheckedAt time.Time              `json:"checkedAt"`
}

// Health is the record of tenantID's integration id in the API's shape.
func (rec HealthRecord) Health(tenantID, id string) contracts.IntegrationHealth {
	h := contracts.IntegrationHealth{TenantID: tenantID, IntegrationID: id, Status: rec.Status, LastCheck: rec.LastCheck, Breaker: rec.Breaker}
	if len(rec.Checks) > 0 {
		h.Checks = make(map[contracts.CheckType]contracts.HealthCheckResult, len(rec.Checks))
		for ct, r := range rec.Checks {
			h.Checks[ct] = r.Result(id, ct)
		}
	}
	return h
}

// LevelOf is r as a HealthRecord stores it.
func LevelOf(r contracts.HealthCheckResult) LevelResult {
	return LevelResult{Status: r.Status, LatencyMs: r.LatencyMs, ErrorCode: r.ErrorCode, Message: r.Message, CheckedAt: r.CheckedAt}
}

// Result is r as the result of integration id's level.
func (r LevelResult) Result(id string, level contracts.CheckType) contracts.HealthCheckResult {
	return contracts.HealthCheckResult{IntegrationID: id, CheckType: level, Status: r.Status, LatencyMs: r.LatencyMs,
		ErrorCode: r.ErrorCode, Message: r.Message, CheckedAt: r.CheckedAt}
}
