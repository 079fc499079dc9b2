// Package contracts holds the Go types of every command, event and API body
// the hub exchanges. Each type has a JSON Schema in schemas/ and a test keeps
// the two in agreement.
package contracts

import "time"

// HealthStatus is an integration's overall health.
type HealthStatus string

// The four health states.
const (
	HealthHealthy   HealthStatus = "healthy"
	HealthDegraded  HealthStatus = "degraded"
	HealthUnhealthy HealthStatus = "unhealthy"
	HealthUnknown   HealthStatus = "unknown"
)

// Valid reports whether s is one of the four states.
func (s HealthStatus) Valid() bool {
	switch s {
	case HealthHealthy, HealthDegraded, HealthUnhealthy, HealthUnknown:
		return true
	}
	return false
}

// Integration is the catalog's entity: a configured connection of
// one tenant to one external system. It holds a credential reference, never
// a secret.
type Integration struct {
	ID              string         `json:"id"`
	TenantID        string         `json:"tenantId"`
	TypeID          string         `json:"typeId"`
	Name            string         `json:"name"`
	Description     string         `json:"description,omitempty"`
	Config          map[string]any `json:"config"`
	CredentialRef   string         `json:"credentialRef"`
	HealthStatus    HealthStatus   `json:"healthStatus"`
	LastHealthCheck *time.Time     `json:"lastHealthCheck,omitempty"`
	// HealthChecks is the latest result of each check level (status,
	// latency, error code, message, time), joined from the health record
	// like HealthStatus: why an integration is unhealthy without running
	// /test. Absent before the first check.
	HealthChecks map[CheckType]HealthCheckResult `json:"healthChecks,omitempty"`
	// CircuitBreaker is the state of the integration's circuit breaker
	// (closed, open, half-open) as of the latest check; absent before it.
	CircuitBreaker string            `json:"circuitBreaker,omitempty"`
	Labels         map[string]string `json:"labels"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
	// Revision is the store revision of this version; the ETag of the API.
	Revision uint64 `json:"revision"`
}

// IntegrationInput is the body of create and replace (PUT): the fields a
// caller sets. Server-owned fields (id, tenant, health, times) are not here.
type IntegrationInput struct {
	TypeID        string            `json:"typeId"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	Config        map[string]any    `json:"config"`
	CredentialRef string            `json:"credentialRef,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// IntegrationList is one page of a list call.
type IntegrationList struct {
	Items []Integration `json:"items"`
	// NextCursor is empty on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// ListQuery filters and pages a list call.
type ListQuery struct {
	TypeID        string       `json:"typeId,omitempty"`
	Category      string       `json:"category,omitempty"`
	LabelSelector string       `json:"labelSelector,omitempty"`
	HealthStatus  HealthStatus `json:"healthStatus,omitempty"`
	Limit         int          `json:"limit,omitempty"`
	Cursor        string       `json:"cursor,omitempty"`
}

// ErrorBody is the one error shape of the HTTP API and of bus replies.
type ErrorBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// IntegrationHealth is the health-scheduler's record of one integration, in
// KV bucket "health" under <tenantId>.<integrationId>; the manager joins it
// into reads.
type IntegrationHealth struct {
	TenantID      string                          `json:"tenantId"`
	IntegrationID string                          `json:"integrationId"`
	Status        HealthStatus                    `json:"status"`
	LastCheck     *time.Time                      `json:"lastCheck,omitempty"`
	Checks        map[CheckType]HealthCheckResult `json:"checks,omitempty"`
	// Breaker is the circuit breaker's state: closed, open or half-open.
	Breaker string `json:"breaker,omitempty"`
}
