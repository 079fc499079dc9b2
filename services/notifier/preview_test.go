package notifier

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// A preview renders templates on the sample events over the bus, as a
// save checks them, and refuses what a save would refuse, naming the field.
func TestPreviewRendersTemplatesOnSampleEvents(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	ctx := context.Background()
	both := []string{contracts.SubjectHealthChanged, contracts.SubjectNotificationRequest}

	got, err := h.rules.Preview(ctx, notifyrules.PreviewRequest{TenantID: tenantA, Input: contracts.NotificationPreviewInput{
		EventTypes: both,
		Template: contracts.NotificationTemplate{
			Title:   "[{{upper .Event.Severity}}] {{.Event.Title}}",
			Webhook: `{"who": "{{.Integration.Name}}", "tenant": "{{.Tenant}}"}`,
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Samples) != 3 {
		t.Fatalf("%d samples, want 3 (down, up, a request): %+v", len(got.Samples), got.Samples)
	}
	down, req := got.Samples[0], got.Samples[2]
	if down.EventType != contracts.SubjectHealthChanged || down.Title != "[CRITICAL] Production Registry is unhealthy" || down.Summary != "Production Registry is unhealthy" {
		t.Errorf("health sample %+v", down)
	}
	if !strings.Contains(down.Webhook, `"who": "Production Registry"`) || !strings.Contains(down.Webhook, tenantA) || down.Slack != "" || down.HTML != "" {
		t.Errorf("health sample formats %+v", down)
	}
	// No text template: the event's own text.
	if down.Text == "" || !strings.Contains(down.Text, "connection refused") {
		t.Errorf("fallback text %q", down.Text)
	}
	if req.EventType != contracts.SubjectNotificationRequest || req.Title != "[WARNING] Release v1.2.3 promoted to production" {
		t.Errorf("request sample %+v", req)
	}

	// A long output is cut and marked, never refused for its length alone
	// below the render bound.
	long, err := h.rules.Preview(ctx, notifyrules.PreviewRequest{TenantID: tenantA, Input: contracts.NotificationPreviewInput{
		EventTypes: both[1:], Template: contracts.NotificationTemplate{Text: "{{range $i := 600}}{{$.Event.Title}} {{end}}"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if s := long.Samples[0]; !s.Truncated || len(s.Text) != maxPreviewOutput {
		t.Errorf("long text: truncated %v, %d bytes", s.Truncated, len(s.Text))
	}

	tests := []struct {
		name   string
		tenant string
		in     contracts.NotificationPreviewInput
		code   string
		field  string
	}{
		{"template does not parse", tenantA, contracts.NotificationPreviewInput{EventTypes: both, Template: contracts.NotificationTemplate{Title: "{{.Integration.Name"}}, notifyrules.InvalidTemplate, "template.title"},
		{"template fails on a sample", tenantA, contracts.NotificationPreviewInput{EventTypes: both, Template: contracts.NotificationTemplate{Text: "{{index .Data.labels 3}}"}}, notifyrules.InvalidTemplate, "template.text"},
		{"slack output is not blocks", tenantA, contracts.NotificationPreviewInput{EventTypes: both, Template: contracts.NotificationTemplate{Slack: `{"text": "x"}`}}, notifyrules.InvalidTemplate, "template.slack"},
		{"template source over its length", tenantA, contracts.NotificationPreviewInput{EventTypes: both, Template: contracts.NotificationTemplate{Text: strings.Repeat("x", 16385)}}, notifyrules.InvalidTemplate, "template.text"},
		{"title over its length", tenantA, contracts.NotificationPreviewInput{EventTypes: both, Template: contracts.NotificationTemplate{Title: strings.Repeat("é", 2001)}}, notifyrules.InvalidTemplate, "template.title"},
		{"template over the work bound", tenantA, contracts.NotificationPreviewInput{EventTypes: both, Template: contracts.NotificationTemplate{Text: "{{range $i := 100000000}}{{range $j := 100000000}}x{{end}}{{end}}"}}, notifyrules.InvalidTemplate, "template.text"},
		{"no event types", tenantA, contracts.NotificationPreviewInput{Template: contracts.NotificationTemplate{Title: "x"}}, apierr.ValidationFailed, "eventTypes"},
		{"unknown event type", tenantA, contracts.NotificationPreviewInput{EventTypes: []string{"pipeline.run"}, Template: contracts.NotificationTemplate{Title: "x"}}, apierr.ValidationFailed, "eventTypes[0]"},
		{"tenant is not a UUID", "a.>", contracts.NotificationPreviewInput{EventTypes: both}, apierr.InvalidTenant, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.rules.Preview(ctx, notifyrules.PreviewRequest{TenantID: tc.tenant, Input: tc.in})
			ae := apiError(t, err)
			if ae.Status != http.StatusBadRequest || ae.Code != tc.code {
				t.Fatalf("%d %s: %s", ae.Status, ae.Code, ae.Message)
			}
			if f, _ := ae.Details["field"].(string); f != tc.field {
				t.Fatalf("field %q, want %q (%s)", f, tc.field, ae.Message)
			}
		})
	}
}
