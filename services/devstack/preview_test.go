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

// GET /api/v1/notification-rules/{id}/deliveries through the ingress and
// the notifier: a new rule has none, the limit is bounded, an unknown rule
// is 404 (the notifier's unit test lists real deliveries).
func TestRuleDeliveriesAPI(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	r := s.call("POST", "/api/v1/integrations", tok, webhook("deliveries hook"))
	if r.status != http.StatusCreated {
		t.Fatalf("webhook: %d %s", r.status, r.body)
	}
	var hook contracts.Integration
	r.decode(&hook)
	eventually(t, "the notification-rules endpoint", func() bool {
		r = s.call("POST", "/api/v1/notification-rules", tok, ruleBody("delivered", hook.ID))
		return r.status != http.StatusServiceUnavailable
	})
	if r.status != http.StatusCreated {
		t.Fatalf("rule: %d %s", r.status, r.body)
	}
	var rule contracts.NotificationRule
	r.decode(&rule)
	path := "/api/v1/notification-rules/" + rule.ID + "/deliveries"
	if r := s.call("GET", path+"?limit=10", tok, nil); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"items":[]}` {
		t.Fatalf("deliveries: %d %s", r.status, r.body)
	}
	for _, q := range []string{"?limit=0", "?limit=501", "?since=1h"} {
		if r := s.call("GET", path+q, tok, nil); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
	if r := s.call("GET", "/api/v1/notification-rules/0193a0b4-0000-7000-8000-0000000000ff/deliveries", tok, nil); r.status != http.StatusNotFound {
		t.Errorf("unknown rule: %d %s", r.status, r.body)
	}
	if r := s.call("POST", path, tok, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.status)
	}
}
