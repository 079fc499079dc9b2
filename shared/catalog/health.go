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
// record once, when it changes, rather than at every read.
type Health struct {
	status    contracts.HealthStatus
	lastCheck *time.Time
	checks    map[contracts.CheckType]contracts.HealthCheckResult
	breaker   string
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
		h.checks = make(map[contracts.CheckType]contracts.HealthCheckResult, len(rec.Checks))
		for ct, r := range rec.Checks {
			r.CheckedAt = r.CheckedAt.UTC().Truncate(time.Millisecond)
			h.checks[ct] = r
		}
	}
	h.breaker = rec.Breaker
	return h
}

// Join sets it's health fields. The zero Health is unknown. it shares
// the checks with h: it must only be read (encoded), never changed.
func (h Health) Join(it *contracts.Integration) {
	it.HealthStatus, it.LastHealthCheck, it.HealthChecks, it.CircuitBreaker = h.status, h.lastCheck, h.checks, h.breaker
	if it.HealthStatus == "" {
		it.HealthStatus = contracts.HealthUnknown
	}
}
