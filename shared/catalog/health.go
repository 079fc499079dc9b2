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
func JoinHealth(it *contracts.Integration, value []byte) {
	DecodeHealth(value).Join(it)
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

// StoredHealth is h as the health bucket stores it.
func StoredHealth(h contracts.IntegrationHealth) HealthRecord {
	rec := HealthRecord{Status: h.Status, LastCheck: h.LastCheck, Breaker: h.Breaker}
	if len(h.Checks) > 0 {
		rec.Checks = make(map[contracts.CheckType]LevelResult, len(h.Checks))
		for ct, r := range h.Checks {
			rec.Checks[ct] = LevelOf(r)
		}
	}
	return rec
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

// Health is a health record decoded for joining: a read model decodes each
// record once, when it changes, rather than at every read. The per-level
// results are a slice, not the map the API answers with: a map of three
// results takes a group of eight slots (about 1.2 KB), the slice far less.
type Health struct {
	status    contracts.HealthStatus
	lastCheck *time.Time
	checks    []levelResult
	breaker   string
}

// levelResult is one entry of a record's per-level results.
type levelResult struct {
	level  contracts.CheckType
	result LevelResult
}

// DecodeHealth decodes a health bucket record (nil: none, unknown).
func DecodeHealth(value []byte) Health {
	h := Health{status: contracts.HealthUnknown}
	if value == nil {
		return h
	}
	var rec HealthRecord
	if json.Unmarshal(value, &rec) != nil || !rec.Status.Valid() {
		return h
	}
	h.status = rec.Status
	if rec.LastCheck != nil {
		t := rec.LastCheck.UTC().Truncate(time.Millisecond)
		h.lastCheck = &t
	}
	// The per-level results say why: which level failed, its code and its
	// message (scrubbed of credentials by the connector kit before the
	// scheduler stored them).
	if len(rec.Checks) > 0 {
		h.checks = make([]levelResult, 0, len(rec.Checks))
		for ct, r := range rec.Checks {
			r.CheckedAt = r.CheckedAt.UTC().Truncate(time.Millisecond)
			h.checks = append(h.checks, levelResult{level: ct, result: r})
		}
	}
	h.breaker = rec.Breaker
	return h
}

// Join sets it's health fields. The zero Health is unknown. The checks
// are a map of it's own, each result naming it and its level.
func (h Health) Join(it *contracts.Integration) {
	it.HealthStatus, it.LastHealthCheck, it.HealthChecks, it.CircuitBreaker = h.status, h.lastCheck, nil, h.breaker
	if len(h.checks) > 0 {
		it.HealthChecks = make(map[contracts.CheckType]contracts.HealthCheckResult, len(h.checks))
		for _, c := range h.checks {
			it.HealthChecks[c.level] = c.result.Result(it.ID, c.level)
		}
	}
	if it.HealthStatus == "" {
		it.HealthStatus = contracts.HealthUnknown
	}
}
