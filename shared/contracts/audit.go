package contracts

import "time"

// SubjectAudit prefixes the audit records of INTHUB_AUDIT:
// inthub.audit.<tenantId>.<resourceType>.<resourceId>. Audit records are not
// events for subscribers but the hub's record of who changed what; the
// operators' (and tenants') GET /api/v1/audit reads them.
const SubjectAudit = "inthub.audit"

// AuditSubject builds inthub.audit.<tenantId>.<resourceType>.<resourceId>.
func AuditSubject(tenantID, resourceType, resourceID string) string {
	return SubjectAudit + "." + tenantID + "." + resourceType + "." + resourceID
}

// Resource types an audit record names.
const (
	AuditIntegration      = "integration"
	AuditNotificationRule = "notification-rule"
)

// AuditResourceTypes lists the resource types audited.
var AuditResourceTypes = []string{AuditIntegration, AuditNotificationRule}

// Audit actions.
const (
	AuditCreated = "created"
	AuditUpdated = "updated"
	AuditDeleted = "deleted"
)

// Actor kinds: an API caller authenticated by a static token or an OIDC
// token, or a service calling the bus directly that names itself.
const (
	ActorToken   = IdentityToken
	ActorOIDC    = IdentityOIDC
	ActorService = "service"
)

// Actor is who made a change: the ingress fills it from the caller's
// identity (the token's name, or the OIDC subject and issuer); a service
// calling the manager or the notifier over the bus names itself.
type Actor struct {
	// Kind is token, oidc or service.
	Kind string `json:"kind"`
	// Name is the static token's name, the OIDC subject or the service.
	Name string `json:"name"`
	// Issuer is the OIDC issuer of the subject.
	Issuer string `json:"issuer,omitempty"`
}

// Reasons a field change carries no values.
const (
	// OmittedSecret: the field is secret in the provider's spec (or is the
	// credential reference): only the fact that it changed is recorded.
	OmittedSecret = "secret"
	// OmittedTooLarge: a value's JSON is longer than the record keeps.
	OmittedTooLarge = "too-large"
)

// FieldChange is one field a change touched, with its value before and
// after (absent when the field was not set) unless ValuesOmitted says why
// not. Field is a top-level name ("name", "labels"), or a key below the
// maps of config and labels ("config.url", "labels.environment").
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old,omitempty"`
	New   any    `json:"new,omitempty"`
	// ValuesOmitted is secret or too-large when Old and New are left out.
	ValuesOmitted string `json:"valuesOmitted,omitempty"`
}

// AuditRecord is one change of a catalog resource (an integration or a
// notification rule): who, when, what. It is written from the store's own
// change stream, once per stored change.
type AuditRecord struct {
	// ID is <resourceType>:<resourceId>:<revision>; also Nats-Msg-Id.
	ID           string `json:"id"`
	TenantID     string `json:"tenantId"`
	ResourceType string `json:"resourceType"`
	ResourceID   string `json:"resourceId"`
	// ResourceName is the resource's name after the change (before it, on
	// delete).
	ResourceName string `json:"resourceName,omitempty"`
	// Action is created, updated or deleted.
	Action string `json:"action"`
	// Actor is who made the change; absent when a bus caller did not say.
	Actor *Actor `json:"actor,omitempty"`
	// Changes are the fields the change touched, never secret values;
	// empty on delete.
	Changes []FieldChange `json:"changes"`
	// Revision is the store's revision of the change.
	Revision   uint64    `json:"revision"`
	OccurredAt time.Time `json:"occurredAt"`
}

// AuditPage is one page of GET /api/v1/audit, oldest first.
type AuditPage struct {
	Items []AuditRecord `json:"items"`
	// NextCursor continues the query; absent when nothing more was stored
	// when the query ran.
	NextCursor string `json:"nextCursor,omitempty"`
}
