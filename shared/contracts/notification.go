package contracts

import "time"

// NotificationAttachment is a file sent with a notification, inline: the
// command travels on the bus, so attachments are small (the notifier
// refuses more than 256 KiB in all).
type NotificationAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"contentType,omitempty"`
	// ContentBase64 is the file's bytes in standard base64.
	ContentBase64 string `json:"contentBase64"`
}

// NotificationMatch selects the events a rule notifies about.
type NotificationMatch struct {
	// EventTypes are subject prefixes: integration.health.changed,
	// notification.send.requested.
	EventTypes []string `json:"eventTypes"`
	// Severities the rule takes (critical, error, warning, info); empty
	// takes all. A recovery matches with the severity of the state it ends,
	// so the rule that raised an alert also resolves it.
	Severities []string `json:"severities,omitempty"`
	// LabelSelector is matched against the labels of the integration the
	// event is about ("env=prod,team!=qa"); empty matches all.
	LabelSelector string `json:"labelSelector,omitempty"`
}

// NotificationTarget is one notification integration a rule sends through.
type NotificationTarget struct {
	IntegrationID string `json:"integrationId"`
	// Channel is the destination within the integration: a Slack channel,
	// email addresses; the integration's default when empty.
	Channel string `json:"channel,omitempty"`
}

// NotificationTemplate holds a rule's Go templates, one per provider
// format; each is optional and falls back to the built-in one.
type NotificationTemplate struct {
	// Title and Text are plain text (text/template), used by every provider.
	Title string `json:"title,omitempty"`
	Text  string `json:"text,omitempty"`
	// HTML is the email body (html/template: values are escaped).
	HTML string `json:"html,omitempty"`
	// Slack renders a JSON array of Block Kit blocks, Teams an Adaptive
	// Card object, Webhook the JSON object sent as data; values in them are
	// JSON-escaped (and Slack's mrkdwn-escaped) automatically.
	Slack   string `json:"slack,omitempty"`
	Teams   string `json:"teams,omitempty"`
	Webhook string `json:"webhook,omitempty"`
}

// NotificationRuleInput is the body of POST and PUT
// /api/v1/notification-rules: the fields a caller sets.
type NotificationRuleInput struct {
	Name        string                `json:"name"`
	Description string                `json:"description,omitempty"`
	Disabled    bool                  `json:"disabled,omitempty"`
	Match       NotificationMatch     `json:"match"`
	Targets     []NotificationTarget  `json:"targets"`
	Template    *NotificationTemplate `json:"template,omitempty"`
}

// NotificationRule is a stored routing rule: which events go to which
// notification integrations, rendered how. The notifier stores it in KV
// bucket "notification-rules" under <tenantId>.<id>.
type NotificationRule struct {
	ID          string                `json:"id"`
	TenantID    string                `json:"tenantId"`
	Name        string                `json:"name"`
	Description string                `json:"description,omitempty"`
	Disabled    bool                  `json:"disabled,omitempty"`
	Match       NotificationMatch     `json:"match"`
	Targets     []NotificationTarget  `json:"targets"`
	Template    *NotificationTemplate `json:"template,omitempty"`
	CreatedAt   time.Time             `json:"createdAt"`
	UpdatedAt   time.Time             `json:"updatedAt"`
	// Revision is the store revision; the ETag of the API.
	Revision uint64 `json:"revision"`
}

// NotificationRuleList is the body of GET /api/v1/notification-rules.
type NotificationRuleList struct {
	Items []NotificationRule `json:"items"`
}

// NotificationPreviewInput is the body of POST
// /api/v1/notification-rules/preview: templates to try, and the event
// types whose sample events they are rendered on. Nothing is stored.
type NotificationPreviewInput struct {
	EventTypes []string             `json:"eventTypes"`
	Template   NotificationTemplate `json:"template"`
}

// NotificationPreview is the answer of a preview: each sample event with
// what the templates render for it. A template that does not parse or
// render is a 400 INVALID_TEMPLATE answer instead, naming the field.
type NotificationPreview struct {
	Samples []NotificationPreviewSample `json:"samples"`
}

// NotificationPreviewSample is one sample event rendered. Title and Text
// are always set (a rule without those templates uses the event's own);
// the other formats only when the rule has their template. Slack, Teams
// and Webhook are the rendered JSON.
type NotificationPreviewSample struct {
	EventType string `json:"eventType"`
	// Summary says which sample this is ("healthy → unhealthy").
	Summary string `json:"summary"`
	Title   string `json:"title"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	Slack   string `json:"slack,omitempty"`
	Teams   string `json:"teams,omitempty"`
	Webhook string `json:"webhook,omitempty"`
	// Truncated is set when an output was cut to the preview's length.
	Truncated bool `json:"truncated,omitempty"`
}

// NotificationDelivery is one delivery of a rule as the notifier
// remembers it (for as long as it keeps deliveries for idempotency): the
// event, the target and how it went.
type NotificationDelivery struct {
	EventID       string `json:"eventId"`
	IntegrationID string `json:"integrationId"`
	Channel       string `json:"channel,omitempty"`
	// Status is pending (being sent), sent or failed (for good).
	Status            string    `json:"status"`
	ProviderMessageID string    `json:"providerMessageId,omitempty"`
	ErrorCode         string    `json:"errorCode,omitempty"`
	Reason            string    `json:"reason,omitempty"`
	At                time.Time `json:"at"`
}

// NotificationDeliveryList is the body of GET
// /api/v1/notification-rules/{id}/deliveries: newest first.
type NotificationDeliveryList struct {
	Items []NotificationDelivery `json:"items"`
	// Truncated is set when the tenant's deliveries were more than one
	// answer reads; the items are the newest of those read.
	Truncated bool `json:"truncated,omitempty"`
}
