package contracts

import "time"

// LifecycleEvent is the body of integration.created, integration.updated and
// integration.deleted. It carries the integration as stored (references only,
// never secrets); on delete, the last stored version.
type LifecycleEvent struct {
	EventID     string      `json:"eventId"`
	TenantID    string      `json:"tenantId"`
	Integration Integration `json:"integration"`
	OccurredAt  time.Time   `json:"occurredAt"`
	// Actor is who made the change (absent when a bus caller did not say).
	Actor *Actor `json:"actor,omitempty"`
	// Changes are the fields an update (or create) set, as in the audit
	// record: never a secret value.
	Changes []FieldChange `json:"changes,omitempty"`
}

// CheckType is one of the three health check levels.
type CheckType string

// The three check levels and their default frequencies.
const (
	CheckConnectivity   CheckType = "connectivity"
	CheckAuthentication CheckType = "authentication"
	CheckFunctionality  CheckType = "functionality"
)

// CheckTypes lists the levels in the order a test runs them.
var CheckTypes = []CheckType{CheckConnectivity, CheckAuthentication, CheckFunctionality}

// HealthCheckRequested is the command integration.health.check.requested: one
// scheduled check slot. Its message id is <integrationId>:<checkType>:<slot>.
//
// The check of a new revision covers every level at once: one command whose
// CheckTypes lists the levels, run in that order, with the message id
// <integrationId>:<levels joined by "+">:r<revision> (CheckType is then the
// first of them, so a consumer that predates CheckTypes runs that level).
type HealthCheckRequested struct {
	TenantID      string    `json:"tenantId"`
	IntegrationID string    `json:"integrationId"`
	CheckType     CheckType `json:"checkType"`
	// CheckTypes, when set, are the levels the command covers, in the order
	// they run; absent, the command covers CheckType alone.
	CheckTypes  []CheckType `json:"checkTypes,omitempty"`
	Slot        int64       `json:"slot"`
	ScheduledAt time.Time   `json:"scheduledAt"`
}

// Levels returns the levels the command covers, in the order they run.
func (c HealthCheckRequested) Levels() []CheckType {
	if len(c.CheckTypes) > 0 {
		return c.CheckTypes
	}
	return []CheckType{c.CheckType}
}

// HealthCheckResult is the result of one check of one integration.
type HealthCheckResult struct {
	IntegrationID string       `json:"integrationId"`
	CheckType     CheckType    `json:"checkType"`
	Status        HealthStatus `json:"status"`
	LatencyMs     int64        `json:"latencyMs"`
	ErrorCode     string       `json:"errorCode,omitempty"`
	Message       string       `json:"message,omitempty"`
	CheckedAt     time.Time    `json:"checkedAt"`
}

// HealthChecked is the event integration.health.checked: one check's result.
type HealthChecked struct {
	TenantID string            `json:"tenantId"`
	Result   HealthCheckResult `json:"result"`
}

// HealthChanged is the event integration.health.changed, published only on a
// transition of the integration's overall status.
type HealthChanged struct {
	TenantID      string            `json:"tenantId"`
	IntegrationID string            `json:"integrationId"`
	TypeID        string            `json:"typeId"`
	Name          string            `json:"name"`
	Labels        map[string]string `json:"labels,omitempty"`
	Previous      HealthStatus      `json:"previous"`
	Current       HealthStatus      `json:"current"`
	Reason        string            `json:"reason,omitempty"`
	ErrorCode     string            `json:"errorCode,omitempty"`
	ChangedAt     time.Time         `json:"changedAt"`
}

// TestRequested is the command integration.test.requested.
type TestRequested struct {
	RequestID     string `json:"requestId"`
	TenantID      string `json:"tenantId"`
	IntegrationID string `json:"integrationId"`
}

// TestStep is the outcome of one level of an on-demand test.
type TestStep struct {
	Status    string `json:"status"` // passed | failed | skipped
	LatencyMs int64  `json:"latencyMs"`
	ErrorCode string `json:"errorCode,omitempty"`
	Message   string `json:"message,omitempty"`
}

// TestResultData is the data object of a test response.
type TestResultData struct {
	ConnectivityTest   TestStep `json:"connectivityTest"`
	AuthenticationTest TestStep `json:"authenticationTest"`
	FunctionalityTest  TestStep `json:"functionalityTest"`
}

// TestCompleted is the event integration.test.completed.
type TestCompleted struct {
	RequestID     string         `json:"requestId"`
	TenantID      string         `json:"tenantId"`
	IntegrationID string         `json:"integrationId"`
	Success       bool           `json:"success"`
	Data          TestResultData `json:"data"`
	CompletedAt   time.Time      `json:"completedAt"`
}

// TestResponse is the body of POST /integrations/{id}/test.
type TestResponse struct {
	Success bool           `json:"success"`
	Data    TestResultData `json:"data"`
}

// DiscoveryFilter narrows a discovery call.
type DiscoveryFilter struct {
	NamePattern string `json:"namePattern,omitempty"`
	Repository  string `json:"repository,omitempty"`
	// Allow lists regular expressions (RE2): a name must match one of them.
	Allow []string `json:"allow,omitempty"`
	// Ignore lists regular expressions (RE2): a name matching one is dropped.
	Ignore []string `json:"ignore,omitempty"`
	// Semver is a version constraint (">=1.2.0 <2", "~1.4"): only names
	// that are versions meeting it are kept.
	Semver string `json:"semver,omitempty"`
	// OrderBy orders the result: name, semver or created.
	OrderBy string `json:"orderBy,omitempty"`
	// Order is asc or desc; semver and created default to desc (newest
	// first), name to asc.
	Order string `json:"order,omitempty"`
}

// DiscoveryRequest is the body of POST /integrations/{id}/discover.
type DiscoveryRequest struct {
	ResourceType string          `json:"resourceType"`
	Filter       DiscoveryFilter `json:"filter,omitempty"`
	Limit        int             `json:"limit,omitempty"`
	Cursor       string          `json:"cursor,omitempty"`
	Refresh      bool            `json:"refresh,omitempty"`
}

// DiscoveryRequested is the command integration.discovery.requested.
type DiscoveryRequested struct {
	RequestID     string           `json:"requestId"`
	TenantID      string           `json:"tenantId"`
	IntegrationID string           `json:"integrationId"`
	Request       DiscoveryRequest `json:"request"`
}

// Resource is one discovered thing. Attributes hold the per-type fields
// (a tag's digest and time, a pipeline's ref, ...).
type Resource struct {
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	ID         string         `json:"id,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// DiscoveryResult is the body of a discovery answer.
type DiscoveryResult struct {
	ResourceType string     `json:"resourceType"`
	Items        []Resource `json:"items"`
	NextCursor   string     `json:"nextCursor,omitempty"`
	CacheHit     bool       `json:"cacheHit"`
	AgeSeconds   int64      `json:"ageSeconds"`
	DiscoveredAt time.Time  `json:"discoveredAt"`
}

// DiscoveryCompleted is the event integration.discovery.completed.
type DiscoveryCompleted struct {
	RequestID     string           `json:"requestId"`
	TenantID      string           `json:"tenantId"`
	IntegrationID string           `json:"integrationId"`
	Result        *DiscoveryResult `json:"result,omitempty"`
	Error         *ErrorBody       `json:"error,omitempty"`
}

// NotificationSendRequested is the command notification.send.requested.
type NotificationSendRequested struct {
	RequestID     string         `json:"requestId"`
	TenantID      string         `json:"tenantId"`
	IntegrationID string         `json:"integrationId,omitempty"`
	RuleID        string         `json:"ruleId,omitempty"`
	Channel       string         `json:"channel,omitempty"`
	Severity      string         `json:"severity"`
	Title         string         `json:"title"`
	Body          string         `json:"body,omitempty"`
	Template      string         `json:"template,omitempty"`
	Data          map[string]any `json:"data,omitempty"`
	ThreadKey     string         `json:"threadKey,omitempty"`
	// Attachments go with the message where the provider takes files (email).
	Attachments []NotificationAttachment `json:"attachments,omitempty"`
}

// NotificationOutcome is the body of notification.sent and notification.failed.
type NotificationOutcome struct {
	RequestID         string     `json:"requestId"`
	TenantID          string     `json:"tenantId"`
	IntegrationID     string     `json:"integrationId"`
	Channel           string     `json:"channel,omitempty"`
	ProviderMessageID string     `json:"providerMessageId,omitempty"`
	Error             *ErrorBody `json:"error,omitempty"`
	OccurredAt        time.Time  `json:"occurredAt"`
}
