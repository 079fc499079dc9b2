// Package catalog is the manager's request-reply contract on the bus
// (inthub.manager.*, served with the nats micro package) and the client the
// ingress and the orchestrator use to call it. No HTTP needed.
package catalog

import (
	"encoding/json"

	"github.com/stella-ops/inthub/shared/contracts"
)

// Subjects of the manager's endpoints.
const (
	ServiceName     = "inthub-manager"
	SubjectPrefix   = "inthub.manager"
	SubjectCreate   = SubjectPrefix + ".integrations.create"
	SubjectGet      = SubjectPrefix + ".integrations.get"
	SubjectList     = SubjectPrefix + ".integrations.list"
	SubjectReplace  = SubjectPrefix + ".integrations.replace"
	SubjectPatch    = SubjectPrefix + ".integrations.patch"
	SubjectDelete   = SubjectPrefix + ".integrations.delete"
	SubjectProvider = SubjectPrefix + ".providers.list"
)

// HeaderReplayed is set to "true" on the reply to a create that replays the
// answer of an earlier create with the same idempotency key; the ingress
// passes it on as the HTTP header of the same name.
const HeaderReplayed = "Idempotent-Replayed"

// CreateRequest creates an integration.
type CreateRequest struct {
	TenantID string                     `json:"tenantId"`
	Input    contracts.IntegrationInput `json:"input"`
	// IdempotencyKey, if set (1 to 255 printable ASCII characters), makes
	// the create safe to retry: for 24 hours, a request of the same tenant
	// with the same key and input answers what the first one stored; the
	// same key with another input is 422 IDEMPOTENCY_KEY_REUSED.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// Actor is who asks (the ingress passes the API caller's identity);
	// it goes into the change's audit record and lifecycle event.
	Actor *contracts.Actor `json:"actor,omitempty"`
}

// GetRequest reads one integration.
type GetRequest struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
}

// ListRequest lists a tenant's integrations.
type ListRequest struct {
	TenantID string              `json:"tenantId"`
	Query    contracts.ListQuery `json:"query"`
}

// ReplaceRequest replaces an integration's mutable fields (PUT).
type ReplaceRequest struct {
	TenantID string                     `json:"tenantId"`
	ID       string                     `json:"id"`
	IfMatch  uint64                     `json:"ifMatch,omitempty"`
	Input    contracts.IntegrationInput `json:"input"`
	// Actor is who asks (the ingress passes the API caller's identity);
	// it goes into the change's audit record and lifecycle event.
	Actor *contracts.Actor `json:"actor,omitempty"`
}

// PatchRequest applies a JSON merge patch (RFC 7386).
type PatchRequest struct {
	TenantID string          `json:"tenantId"`
	ID       string          `json:"id"`
	IfMatch  uint64          `json:"ifMatch,omitempty"`
	Patch    json.RawMessage `json:"patch"`
	// Actor is who asks (the ingress passes the API caller's identity);
	// it goes into the change's audit record and lifecycle event.
	Actor *contracts.Actor `json:"actor,omitempty"`
}

// DeleteRequest deletes an integration.
type DeleteRequest struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
	IfMatch  uint64 `json:"ifMatch,omitempty"`
	// Actor is who asks (the ingress passes the API caller's identity);
	// it goes into the change's audit record and lifecycle event.
	Actor *contracts.Actor `json:"actor,omitempty"`
}

// ProvidersRequest lists providers.
type ProvidersRequest struct {
	IncludeTestOnly bool `json:"includeTestOnly"`
}
