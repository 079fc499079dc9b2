package notifier

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

func healthRule(name string, targets ...contracts.NotificationTarget) contracts.NotificationRuleInput {
	return contracts.NotificationRuleInput{
		Name:    name,
		Match:   contracts.NotificationMatch{EventTypes: []string{contracts.SubjectHealthChanged}, Severities: []string{"critical", "warning"}, LabelSelector: "environment=production"},
		Targets: targets,
	}
}

func apiError(t *testing.T, err error) *apierr.Error {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	return ae
}

func TestRulesAreValidatedWholeBeforeStoring(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	pd := h.addIntegration(tenantA, "pagerduty", map[string]any{"routingKeyRef": "env://INTHUB_SECRET_A_PD_ROUTING_KEY"}, "", nil)
	mail := h.addIntegration(tenantA, "email", map[string]any{"host": "smtp.example.com", "from": "bot@example.com", "to": []any{"ops@example.com"}}, "", nil)
	hook := h.addIntegration(tenantA, "webhook", map[string]any{"url": "https://hooks.example.com/x"}, "", nil)
	registryIt := h.addIntegration(tenantA, "inmemory", map[string]any{}, "", nil)
	foreign := h.addIntegration(tenantB, "pagerduty", map[string]any{"routingKeyRef": "env://INTHUB_SECRET_B_PD_ROUTING_KEY"}, "", nil)
	good := h.mustCreateRule(tenantA, healthRule("existing", contracts.NotificationTarget{IntegrationID: pd.ID}))

	with := func(mut func(*contracts.NotificationRuleInput)) contracts.NotificationRuleInput {
		in := healthRule("new", contracts.NotificationTarget{IntegrationID: pd.ID})
		mut(&in)
		return in
	}
	tmpl := func(t contracts.NotificationTemplate) func(*contracts.NotificationRuleInput) {
		return func(in *contracts.NotificationRuleInput) { in.Template = &t }
	}
	tests := []struct {
		name   string
		tenant string
		in     contracts.NotificationRuleInput
		status int
		code   string
		field  string
	}{
		{"template does not parse", tenantA, with(tmpl(contracts.NotificationTemplate{Title: "{{.Integration.Name"})), 400, notifyrules.InvalidTemplate, "template.title"},
		{"template fails on a sample event", tenantA, with(tmpl(contracts.NotificationTemplate{Text: "{{index .Data.labels 3}}"})), 400, notifyrules.InvalidTemplate, "template.text"},
		{"template longer than its field takes", tenantA, with(tmpl(contracts.NotificationTemplate{HTML: strings.Repeat("<p>", 5462)})), 400, notifyrules.InvalidTemplate, "template.html"},
		{"template names an unknown function", tenantA, with(tmpl(contracts.NotificationTemplate{Text: "{{shout .Event.Title}}"})), 400, notifyrules.InvalidTemplate, "template.text"},
		{"slack template is not JSON", tenantA, with(tmpl(contracts.NotificationTemplate{Slack: `[{"type":"section",}]`})), 400, notifyrules.InvalidTemplate, "template.slack"},
		{"slack template is no block array", tenantA, with(tmpl(contracts.NotificationTemplate{Slack: `{"type":"section"}`})), 400, notifyrules.InvalidTemplate, "template.slack"},
		{"teams template is no Adaptive Card", tenantA, with(tmpl(contracts.NotificationTemplate{Teams: `{"type":"MessageCard","version":"1.0","body":[]}`})), 400, notifyrules.InvalidTemplate, "template.teams"},
		{"webhook template is no object", tenantA, with(tmpl(contracts.NotificationTemplate{Webhook: `["{{.Event.ID}}"]`})), 400, notifyrules.InvalidTemplate, "template.webhook"},
		{"html template breaks", tenantA, with(tmpl(contracts.NotificationTemplate{HTML: `<p>{{.Event.Title</p>`})), 400, notifyrules.InvalidTemplate, "template.html"},
		{"unknown integration", tenantA, with(func(in *contracts.NotificationRuleInput) {
			in.Targets[0].IntegrationID = "11111111-2222-4333-8444-555555555555"
		}), 400, notifyrules.InvalidTarget, "targets[0].integrationId"},
		{"another tenant's integration", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Targets[0].IntegrationID = foreign.ID }), 400, notifyrules.InvalidTarget, "targets[0].integrationId"},
		{"not a notification integration", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Targets[0].IntegrationID = registryIt.ID }), 400, notifyrules.InvalidTarget, "targets[0].integrationId"},
		{"not an id", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Targets[0].IntegrationID = "../x" }), 400, notifyrules.InvalidTarget, "targets[0].integrationId"},
		{"channel for PagerDuty", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Targets[0].Channel = "#ops" }), 400, notifyrules.InvalidTarget, "targets[0].channel"},
		{"email channel not addresses", tenantA, with(func(in *contracts.NotificationRuleInput) {
			in.Targets = []contracts.NotificationTarget{{IntegrationID: mail.ID, Channel: "#ops"}}
		}), 400, notifyrules.InvalidTarget, "targets[0].channel"},
		{"repeated target", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Targets = append(in.Targets, in.Targets[0]) }), 400, notifyrules.InvalidTarget, "targets[1]"},
		{"no target", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Targets = nil }), 400, notifyrules.InvalidTarget, "targets"},
		{"bad label selector", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Match.LabelSelector = "env in (prod)" }), 400, apierr.InvalidLabelSelector, "match.labelSelector"},
		{"bad severity", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Match.Severities = []string{"fatal"} }), 400, apierr.ValidationFailed, "match.severities[0]"},
		{"bad event type", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Match.EventTypes = []string{"integration.created"} }), 400, apierr.ValidationFailed, "match.eventTypes[0]"},
		{"no event type", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Match.EventTypes = nil }), 400, apierr.ValidationFailed, "match.eventTypes"},
		{"no name", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Name = "  " }), 400, apierr.ValidationFailed, "name"},
		{"bidi override in the name", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Name = "page \u202eon-call" }), 400, apierr.InvalidFieldValue, "name"},
		{"invalid UTF-8 in the name", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Name = "page\xff" }), 400, apierr.InvalidFieldValue, "name"},
		{"zero-width space in the description", tenantA, with(func(in *contracts.NotificationRuleInput) { in.Description = "pages\u200bon-call" }), 400, apierr.InvalidFieldValue, "description"},
		{"tenant not a UUID", "acme.eu", with(func(*contracts.NotificationRuleInput) {}), 400, apierr.InvalidTenant, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.rules.Create(context.Background(), notifyrules.CreateRequest{TenantID: tc.tenant, Input: tc.in})
			ae := apiError(t, err)
			if ae.Status != tc.status || ae.Code != tc.code || ae.Message == "" {
				t.Fatalf("got %d %s %q, want %d %s", ae.Status, ae.Code, ae.Message, tc.status, tc.code)
			}
			if tc.field != "" && ae.Details["field"] != tc.field {
				t.Errorf("field %v, want %s", ae.Details["field"], tc.field)
			}
		})
	}
	// A replace with a broken template is refused the same way and leaves
	// the stored rule alone.
	_, err := h.rules.Replace(context.Background(), notifyrules.ReplaceRequest{TenantID: tenantA, ID: good.ID,
		Input: with(tmpl(contracts.NotificationTemplate{Slack: "[{{.Nope}"}))})
	if ae := apiError(t, err); ae.Code != notifyrules.InvalidTemplate {
		t.Fatalf("replace: %v", err)
	}
	list, err := h.rules.List(context.Background(), notifyrules.ListRequest{TenantID: tenantA})
	if err != nil || len(list.Items) != 1 || list.Items[0].ID != good.ID || list.Items[0].Revision != good.Revision {
		t.Fatalf("store changed by refused rules: %+v %v", list, err)
	}
	// Valid channels and templates pass.
	ok := h.mustCreateRule(tenantA, contracts.NotificationRuleInput{
		Name:  "all formats",
		Match: contracts.NotificationMatch{EventTypes: []string{contracts.SubjectHealthChanged, contracts.SubjectNotificationRequest}},
		Targets: []contracts.NotificationTarget{
			{IntegrationID: mail.ID, Channel: "ana@example.com, Bo <bo@example.com>"}, {IntegrationID: hook.ID, Channel: "release-events"},
		},
		Template: &contracts.NotificationTemplate{
			Title:   `{{.Event.Title}}{{with .Integration.Labels.environment}} [{{.}}]{{end}}`,
			HTML:    `<p>{{.Event.Text}}</p>`,
			Slack:   `[{"type":"section","text":{"type":"mrkdwn","text":"{{.Event.Title}}"}},{"type":"context","elements":[{"type":"mrkdwn","text":"{{.Event.Severity}}"}]}]`,
			Teams:   `{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"{{.Event.Title}}"}]}`,
			Webhook: `{"event":"{{.Event.ID}}","labels":{{json .Integration.Labels}},"release":"{{.Data.release}}"}`,
		},
	})
	if ok.Template == nil || ok.Targets[0].Channel == "" {
		t.Fatalf("stored %+v", ok)
	}
}

func TestRuleCRUD(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	ctx := context.Background()
	pd := h.addIntegration(tenantA, "pagerduty", map[string]any{"routingKeyRef": "env://INTHUB_SECRET_A_PD_ROUTING_KEY"}, "", nil)
	created := h.mustCreateRule(tenantA, healthRule("page on-call", contracts.NotificationTarget{IntegrationID: pd.ID}))
	if created.TenantID != tenantA || created.Revision == 0 || created.CreatedAt.IsZero() {
		t.Fatalf("created %+v", created)
	}
	got, err := h.rules.Get(ctx, notifyrules.GetRequest{TenantID: tenantA, ID: created.ID})
	if err != nil || got.Name != "page on-call" || got.Revision != created.Revision {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := h.rules.Get(ctx, notifyrules.GetRequest{TenantID: tenantB, ID: created.ID}); apiError(t, err).Status != http.StatusNotFound {
		t.Fatalf("another tenant reads the rule: %v", err)
	}
	in := healthRule("page on-call (v2)", contracts.NotificationTarget{IntegrationID: pd.ID})
	replaced, err := h.rules.Replace(ctx, notifyrules.ReplaceRequest{TenantID: tenantA, ID: created.ID, IfMatch: created.Revision, Input: in})
	if err != nil || replaced.Name != "page on-call (v2)" || replaced.Revision <= created.Revision || !replaced.CreatedAt.Equal(created.CreatedAt) {
		t.Fatalf("replace: %+v %v", replaced, err)
	}
	if _, err := h.rules.Replace(ctx, notifyrules.ReplaceRequest{TenantID: tenantA, ID: created.ID, IfMatch: created.Revision, Input: in}); apiError(t, err).Code != apierr.PreconditionFailed {
		t.Fatalf("stale replace: %v", err)
	}
	if _, err := h.rules.Delete(ctx, notifyrules.DeleteRequest{TenantID: tenantB, ID: created.ID}); apiError(t, err).Code != notifyrules.RuleNotFound {
		t.Fatalf("another tenant deletes the rule: %v", err)
	}
	if _, err := h.rules.Delete(ctx, notifyrules.DeleteRequest{TenantID: tenantA, ID: created.ID, IfMatch: created.Revision}); apiError(t, err).Status != http.StatusPreconditionFailed {
		t.Fatalf("stale delete: %v", err)
	}
	if _, err := h.rules.Delete(ctx, notifyrules.DeleteRequest{TenantID: tenantA, ID: created.ID}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := h.rules.Get(ctx, notifyrules.GetRequest{TenantID: tenantA, ID: created.ID}); apiError(t, err).Code != notifyrules.RuleNotFound {
		t.Fatalf("get after delete: %v", err)
	}
	waitFor(t, "the view to drop the rule", func() bool { _, ok := h.engine.rules.get(tenantA, created.ID); return !ok })
	list, err := h.rules.List(ctx, notifyrules.ListRequest{TenantID: tenantA})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("list after delete: %+v %v", list, err)
	}
	if _, err := h.rules.Get(ctx, notifyrules.GetRequest{TenantID: tenantA, ID: "../../x"}); apiError(t, err).Status != http.StatusNotFound {
		t.Fatalf("odd id: %v", err)
	}
	if !strings.Contains(created.Match.LabelSelector, "environment") {
		t.Errorf("match not stored: %+v", created.Match)
	}
}
