package devstack_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/shared/contracts"
)

// POST /api/v1/notification-rules/preview through the ingress and the
// notifier: the caller's tenant's samples rendered, a broken template
// refused with the field it names, nothing stored, the API's auth.
func TestNotificationPreviewAPI(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	const path = "/api/v1/notification-rules/preview"
	body := map[string]any{
		"eventTypes": []string{contracts.SubjectHealthChanged, contracts.SubjectNotificationRequest},
		"template": map[string]any{
			"title": "{{.Event.Title}} for {{.Tenant}}",
			"slack": `[{"type":"section","text":{"type":"mrkdwn","text":"{{.Event.Text}}"}}]`,
		},
	}
	var r response
	eventually(t, "the notifier's preview endpoint", func() bool {
		r = s.call("POST", path, tok, body)
		return r.status != http.StatusServiceUnavailable
	})
	if r.status != http.StatusOK {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	var got contracts.NotificationPreview
	r.decode(&got)
	if len(got.Samples) != 3 {
		t.Fatalf("%d samples: %s", len(got.Samples), r.body)
	}
	if s0 := got.Samples[0]; s0.Title != "Production Registry is unhealthy for "+devstack.DevTenantID || !strings.Contains(s0.Slack, `"type": "section"`) || s0.Webhook != "" {
		t.Fatalf("first sample %+v", s0)
	}

	refused := []struct {
		name     string
		template map[string]any
		code     string
		field    string
	}{
		{"does not parse", map[string]any{"title": "{{.Event.Title"}, "INVALID_TEMPLATE", "template.title"},
		{"not a JSON object", map[string]any{"webhook": "{{.Event.Title}}"}, "INVALID_TEMPLATE", "template.webhook"},
		{"too long", map[string]any{"text": strings.Repeat("x", 16385)}, "INVALID_TEMPLATE", "template.text"},
	}
	for _, tc := range refused {
		r := s.call("POST", path, tok, map[string]any{"eventTypes": []string{contracts.SubjectHealthChanged}, "template": tc.template})
		var e contracts.ErrorBody
		r.decode(&e)
		if r.status != http.StatusBadRequest || e.Code != tc.code || e.Details["field"] != tc.field {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	if r := s.call("POST", path, "", body); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.status)
	}
	if r := s.call("GET", path, tok, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %s", r.status, r.body)
	}
	if r := s.call("POST", path, tok, map[string]any{"eventTypes": []string{"pipeline.run"}, "template": map[string]any{}}); r.status != http.StatusBadRequest || r.code() != "VALIDATION_FAILED" {
		t.Errorf("unknown event type: %d %s", r.status, r.body)
	}
	var list contracts.NotificationRuleList
	s.call("GET", "/api/v1/notification-rules", tok, nil).decode(&list)
	if len(list.Items) != 0 {
		t.Fatalf("a preview stored a rule: %+v", list.Items)
	}
}
