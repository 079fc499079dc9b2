package notifier

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxAttachmentBytes bounds the attachments of one request, decoded.
const maxAttachmentBytes = 256 << 10

// notice is one thing to notify about, from either input: a health
// transition or an orchestrator's send request.
type notice struct {
	// id is the event's id (health) or the request id: with a rule and a
	// target it makes the idempotency key.
	id       string
	kind     string // contracts.SubjectHealthChanged or SubjectNotificationRequest
	tenantID string
	// severity is what providers show; matchSeverity what rules match on (a
	// recovery matches with the severity of the state it ends).
	severity, matchSeverity string
	action                  string // notify.ActionTrigger, notify.ActionResolve
	title, text             string
	// threadKey groups follow-ups: the integration id for health events.
	threadKey string
	// incidentKey is the PagerDuty dedup key and OpsGenie alias.
	incidentKey string
	subject     integrationView
	labels      map[string]string
	data        map[string]any
	attachments []notify.Attachment
	// Explicit routing of a send request.
	integrationID, ruleID, channel, template string
}

// severityOf maps a health status to a severity.
func severityOf(s contracts.HealthStatus) string {
	switch s {
	case contracts.HealthUnhealthy:
		return notify.SeverityCritical
	case contracts.HealthDegraded:
		return notify.SeverityWarning
	}
	return notify.SeverityInfo
}

// healthNotice reads integration.health.changed. Going unhealthy or
// degraded triggers; coming back to healthy from either resolves, and
// matches with the severity of the state it ends; the first status of a new
// integration (from unknown) is informational.
func healthNotice(eventID string, ev contracts.HealthChanged) *notice {
	n := &notice{
		id: eventID, kind: contracts.SubjectHealthChanged, tenantID: ev.TenantID,
		severity: severityOf(ev.Current), action: notify.ActionTrigger,
		threadKey:   ev.IntegrationID,
		incidentKey: ev.TenantID + ":" + ev.IntegrationID,
		subject:     integrationView{ID: ev.IntegrationID, Name: ev.Name, TypeID: ev.TypeID, Labels: ev.Labels},
		labels:      ev.Labels,
	}
	n.matchSeverity = n.severity
	name := ev.Name
	if name == "" {
		name = ev.IntegrationID
	}
	recovered := ev.Current == contracts.HealthHealthy && (ev.Previous == contracts.HealthUnhealthy || ev.Previous == contracts.HealthDegraded)
	switch {
	case recovered:
		n.action = notify.ActionResolve
		n.matchSeverity = severityOf(ev.Previous)
		n.title = fmt.Sprintf("%s recovered: healthy again", name)
		n.text = fmt.Sprintf("%s (%s) is healthy again; it was %s.", name, ev.TypeID, ev.Previous)
	case ev.Current == contracts.HealthUnhealthy || ev.Current == contracts.HealthDegraded:
		n.title = fmt.Sprintf("%s is %s", name, ev.Current)
		reason := ev.Reason
		if reason == "" {
			reason = "no reason given"
		}
		n.text = fmt.Sprintf("%s (%s) is %s: %s", name, ev.TypeID, ev.Current, reason)
		if ev.ErrorCode != "" {
			n.text += " [" + ev.ErrorCode + "]"
		}
		n.text += fmt.Sprintf("; it was %s.", ev.Previous)
	default:
		n.action = ""
		n.title = fmt.Sprintf("%s is %s", name, ev.Current)
		n.text = fmt.Sprintf("%s (%s) is %s; it was %s.", name, ev.TypeID, ev.Current, ev.Previous)
	}
	labels := map[string]any{}
	for k, v := range ev.Labels {
		labels[k] = v
	}
	n.data = map[string]any{
		"tenantId": ev.TenantID, "integrationId": ev.IntegrationID, "integrationName": ev.Name, "typeId": ev.TypeID,
		"previous": string(ev.Previous), "current": string(ev.Current), "reason": ev.Reason, "errorCode": ev.ErrorCode,
		"changedAt": ev.ChangedAt, "labels": labels,
	}
	return n
}

// requestNotice reads notification.send.requested. A request that can
// never be sent (bad attachments) is an INVALID_CONFIG error.
func requestNotice(r contracts.NotificationSendRequested) (*notice, error) {
	n := &notice{
		id: r.RequestID, kind: contracts.SubjectNotificationRequest, tenantID: r.TenantID,
		severity: strings.ToLower(r.Severity), action: notify.ActionTrigger,
		title: r.Title, text: r.Body, threadKey: r.ThreadKey,
		integrationID: r.IntegrationID, ruleID: r.RuleID, channel: r.Channel, template: r.Template,
		data: map[string]any{},
	}
	if !notify.ValidSeverity(n.severity) {
		n.severity = notify.SeverityInfo
	}
	n.matchSeverity = n.severity
	if r.ThreadKey != "" {
		n.incidentKey = r.TenantID + ":" + r.ThreadKey
	}
	for k, v := range r.Data {
		n.data[k] = v
	}
	if a, _ := r.Data[notify.KeyAction].(string); strings.EqualFold(a, notify.ActionResolve) {
		n.action = notify.ActionResolve
	}
	// Labels for rule selectors come from data.labels when it is a map of
	// strings.
	if m, ok := r.Data["labels"].(map[string]any); ok {
		n.labels = map[string]string{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				n.labels[k] = s
			}
		}
	}
	total := 0
	for i, a := range r.Attachments {
		b, err := base64.StdEncoding.DecodeString(a.ContentBase64)
		if err != nil {
			return n, resilience.New(resilience.InvalidConfig, "attachments[%d]: content is not base64", i)
		}
		if total += len(b); total > maxAttachmentBytes {
			return n, resilience.New(resilience.InvalidConfig, "attachments are larger than %d bytes in all", maxAttachmentBytes)
		}
		n.attachments = append(n.attachments, notify.Attachment{Filename: a.Filename, ContentType: a.ContentType, Content: b})
	}
	return n, nil
}

// renderData is what n's templates see.
func (n *notice) renderData() renderData {
	return renderData{
		Event:       eventView{ID: n.id, Type: n.kind, Severity: n.severity, Action: n.action, Title: n.title, Text: n.text, ThreadKey: n.threadKey},
		Integration: n.subject, Tenant: n.tenantID, Data: n.data,
	}
}
