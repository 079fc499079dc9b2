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
	it.HealthStatus, it.LastHealthCheck, it.HealthChecks, it.CircuitBreaker = contracts.HealthUnknown, nil, nil, ""
	if value == nil {
		return
	}
	var h contracts.IntegrationHealth
	if json.Unmarshal(value, &h) != nil || !h.Status.Valid() {
		return
	}
	it.HealthStatus = h.Status
	if h.LastCheck != nil {
		t := h.LastCheck.UTC().Truncate(time.Millisecond)
		it.LastHealthCheck = &t
	}
	// The per-level results say why: which level failed, its code and its
	// message (scrubbed of credentials by the connector kit before the
	// scheduler stored them).
	if len(h.Checks) > 0 {
		it.HealthChecks = make(map[contracts.CheckType]contracts.HealthCheckResult, len(h.Checks))
		for ct, r := range h.Checks {
			r.CheckedAt = r.CheckedAt.UTC().Truncate(time.Millisecond)
			it.HealthChecks[ct] = r
		}
	}
	it.CircuitBreaker = h.Breaker
}
