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

// Health is a health record decoded for joining: a read model decodes each
// record once, when it changes, rather than at every read. The per-level
// results are a slice, not the map the API answers with: a map of three
// results takes a group of eight slots (about 1.2 KB), the slice 384 bytes,
// and a read model holds one Health per integration.
type Health struct {
	status    contracts.HealthStatus
	lastCheck *time.Time
	checks    []levelResult
	breaker   string
}

// levelResult is one entry of a record's per-level results.
type levelResult struct {
	level  contracts.CheckType
	result contracts.HealthCheckResult
}

// DecodeHealth decodes a health bucket record (nil: none, unknown).
func DecodeHealth(value []byte) Health {
	h := Health{status: contracts.HealthUnknown}
	if value == nil {
		return h
	}
	var rec contracts.IntegrationHealth
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
		id := ""
		for ct, r := range rec.Checks {
			r.CheckedAt = r.CheckedAt.UTC().Truncate(time.Millisecond)
			if r.CheckType == ct {
				ct = r.CheckType // one string for both
			}
			// The levels' results name the same integration: one string.
			if id == "" {
				id = r.IntegrationID
			} else if r.IntegrationID == id {
				r.IntegrationID = id
			}
			h.checks = append(h.checks, levelResult{level: ct, result: r})
		}
	}
	h.breaker = rec.Breaker
	return h
}

// Join sets it's health fields. The zero Health is unknown. The checks
// are a map of it's own.
func (h Health) Join(it *contracts.Integration) {
	it.HealthStatus, it.LastHealthCheck, it.HealthChecks, it.CircuitBreaker = h.status, h.lastCheck, nil, h.breaker
	if len(h.checks) > 0 {
		it.HealthChecks = make(map[contracts.CheckType]contracts.HealthCheckResult, len(h.checks))
		for _, c := range h.checks {
			it.HealthChecks[c.level] = c.result
		}
	}
	if it.HealthStatus == "" {
		it.HealthStatus = contracts.HealthUnknown
	}
}
