// Package notifyrules is the notifier's request-reply contract for its
// notification rules (inthub.notifier.rules.*, served with the nats micro
// package) and the client the ingress calls it with. Like the catalog's,
// every request names its tenant and errors travel as the API's ErrorBody.
package notifyrules

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Subjects of the notifier's rule endpoints.
const (
	ServiceName    = "inthub-notifier"
	SubjectPrefix  = "inthub.notifier"
	SubjectCreate  = SubjectPrefix + ".rules.create"
	SubjectGet     = SubjectPrefix + ".rules.get"
	SubjectList    = SubjectPrefix + ".rules.list"
	SubjectReplace = SubjectPrefix + ".rules.replace"
	SubjectDelete  = SubjectPrefix + ".rules.delete"
	// SubjectPreview renders templates on sample events; nothing is stored.
	SubjectPreview = SubjectPrefix + ".rules.preview"
	// SubjectDeliveries lists the remembered deliveries of one rule.
	SubjectDeliveries = SubjectPrefix + ".rules.deliveries"
)

// Error codes of the rule endpoints beyond apierr's.
const (
	// RuleNotFound: no such rule in the caller's tenant (404).
	RuleNotFound = "NOTIFICATION_RULE_NOT_FOUND"
	// InvalidTemplate: a template does not parse or render (400).
	InvalidTemplate = "INVALID_TEMPLATE"
	// InvalidTarget: a target is not a notification integration of the
	// tenant, or its channel does not fit the provider (400).
	InvalidTarget = "INVALID_TARGET"
)

// CreateRequest creates a rule.
type CreateRequest struct {
	TenantID string                          `json:"tenantId"`
	Input    contracts.NotificationRuleInput `json:"input"`
	// Actor is who asks (the ingress passes the API caller's identity);
	// it goes into the change's audit record.
	Actor *contracts.Actor `json:"actor,omitempty"`
}

// GetRequest reads one rule.
type GetRequest struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
}

// ListRequest lists a tenant's rules.
type ListRequest struct {
	TenantID string `json:"tenantId"`
}

// ReplaceRequest replaces a rule (PUT); IfMatch 0 is unconditional.
type ReplaceRequest struct {
	TenantID string                          `json:"tenantId"`
	ID       string                          `json:"id"`
	IfMatch  uint64                          `json:"ifMatch,omitempty"`
	Input    contracts.NotificationRuleInput `json:"input"`
	// Actor is who asks (the ingress passes the API caller's identity);
	// it goes into the change's audit record.
	Actor *contracts.Actor `json:"actor,omitempty"`
}

// DeleteRequest deletes a rule; IfMatch 0 is unconditional.
type DeleteRequest struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
	IfMatch  uint64 `json:"ifMatch,omitempty"`
	// Actor is who asks (the ingress passes the API caller's identity);
	// it goes into the change's audit record.
	Actor *contracts.Actor `json:"actor,omitempty"`
}

// PreviewRequest renders templates on the sample events of a tenant.
type PreviewRequest struct {
	TenantID string                             `json:"tenantId"`
	Input    contracts.NotificationPreviewInput `json:"input"`
}

// DeliveriesRequest lists a rule's deliveries, newest first; Limit 0 is
// the default (50), at most 500.
type DeliveriesRequest struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
	Limit    int    `json:"limit,omitempty"`
}

// Client calls the notifier over NATS request-reply.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// NewClient returns a client; timeout bounds each call (default 10s).
func NewClient(nc *nats.Conn, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Client{nc: nc, timeout: timeout}
}

// Create validates and stores a rule.
func (c *Client) Create(ctx context.Context, r CreateRequest) (contracts.NotificationRule, error) {
	var out contracts.NotificationRule
	return out, c.call(ctx, SubjectCreate, r, &out)
}

// Get reads one rule.
func (c *Client) Get(ctx context.Context, r GetRequest) (contracts.NotificationRule, error) {
	var out contracts.NotificationRule
	return out, c.call(ctx, SubjectGet, r, &out)
}

// List lists the tenant's rules.
func (c *Client) List(ctx context.Context, r ListRequest) (contracts.NotificationRuleList, error) {
	var out contracts.NotificationRuleList
	return out, c.call(ctx, SubjectList, r, &out)
}

// Replace validates and replaces a rule.
func (c *Client) Replace(ctx context.Context, r ReplaceRequest) (contracts.NotificationRule, error) {
	var out contracts.NotificationRule
	return out, c.call(ctx, SubjectReplace, r, &out)
}

// Delete deletes a rule and returns its last version.
func (c *Client) Delete(ctx context.Context, r DeleteRequest) (contracts.NotificationRule, error) {
	var out contracts.NotificationRule
	return out, c.call(ctx, SubjectDelete, r, &out)
}

// Preview renders templates on sample events.
func (c *Client) Preview(ctx context.Context, r PreviewRequest) (contracts.NotificationPreview, error) {
	var out contracts.NotificationPreview
	return out, c.call(ctx, SubjectPreview, r, &out)
}

// Deliveries lists a rule's remembered deliveries.
func (c *Client) Deliveries(ctx context.Context, r DeliveriesRequest) (contracts.NotificationDeliveryList, error) {
	var out contracts.NotificationDeliveryList
	return out, c.call(ctx, SubjectDeliveries, r, &out)
}

// call is one request-reply to the service.
func (c *Client) call(ctx context.Context, subject string, req, out any) error {
	return bus.Request(ctx, c.nc, "notifier", subject, c.timeout, req, out)
}
