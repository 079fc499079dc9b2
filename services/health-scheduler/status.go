package healthscheduler

import (
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// statusOf classifies one check's outcome. A rate limit means the system
// answers but throttles us: degraded, not down.
func statusOf(err error) contracts.HealthStatus {
	if err == nil {
		return contracts.HealthHealthy
	}
	if resilience.CodeOf(err) == resilience.RateLimited {
		return contracts.HealthDegraded
	}
	return contracts.HealthUnhealthy
}

// flapState is the integration's confirmed status and the streak of
// results disagreeing with it.
type flapState struct {
	Confirmed contracts.HealthStatus `json:"confirmed"`
	Pending   contracts.HealthStatus `json:"pending,omitempty"`
	Streak    int                    `json:"streak,omitempty"`
}

// observe applies the anti-flapping rule to the status each new result
// implies: the first is taken as is; after that a different status is
// confirmed only when `threshold` consecutive results agree on it. One odd
// result (a dropped packet, a single 502) never flips the integration, and
// an outage seen first by one level and then by another moves it once.
func (f flapState) observe(s contracts.HealthStatus, threshold int) flapState {
	if f.Confirmed == "" || f.Confirmed == contracts.HealthUnknown {
		return flapState{Confirmed: s}
	}
	if s == f.Confirmed {
		return flapState{Confirmed: s}
	}
	if s == f.Pending {
		f.Streak++
	} else {
		f.Pending, f.Streak = s, 1
	}
	if f.Streak >= threshold {
		return flapState{Confirmed: s}
	}
	return f
}

// overall folds the latest result of each check type into the status they
// imply. The error code decides more than the level that saw it: a system
// that cannot be reached or refuses our credentials is unhealthy whichever
// check noticed first; one that answers but whose operations fail, or that
// throttles us, is degraded; every check that ran passed = healthy; nothing
// ran yet = unknown. Healthy and degraded need connectivity to have passed:
// until it has, a passed authentication or functionality check proves
// little (some providers' pass without reaching anything), so the status
// stays unknown rather than saying healthy and flipping a second later.
func overall(latest map[contracts.CheckType]catalog.LevelResult) contracts.HealthStatus {
	if len(latest) == 0 {
		return contracts.HealthUnknown
	}
	status := contracts.HealthHealthy
	for ct, r := range latest {
		switch r.Status {
		case contracts.HealthUnhealthy:
			if ct != contracts.CheckFunctionality || down(resilience.Code(r.ErrorCode)) {
				return contracts.HealthUnhealthy
			}
			status = contracts.HealthDegraded
		case contracts.HealthDegraded:
			status = contracts.HealthDegraded
		}
	}
	if _, ran := latest[contracts.CheckConnectivity]; !ran {
		return contracts.HealthUnknown
	}
	return status
}

// down reports codes that mean the system is unusable, not merely failing
// one operation.
func down(c resilience.Code) bool {
	switch c {
	case resilience.ConnectionRefused, resilience.Timeout, resilience.DestinationBlocked, resilience.IntegrationUnhealthy,
		resilience.AuthenticationFailed, resilience.CredentialFetchFailed:
		return true
	}
	return false
}
