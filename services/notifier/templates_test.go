package notifier

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// hostile is data a tenant does not control: an integration's name and an
// upstream error text, which may hold quotes, newlines and markup.
func hostile() renderData {
	return renderData{
		Event:       eventView{ID: "e1", Title: `Registry "prod" <down>`, Text: "line one\nline \"two\" & <three>", Severity: "critical"},
		Integration: integrationView{ID: "i1", Name: `a"},{"type":"evil`, Labels: map[string]string{"env": "prod"}},
		Data:        map[string]any{"reason": "EOF\r\n\t\\", "count": 3},
	}
}

func TestJSONTemplatesEscapeEveryValue(t *testing.T) {
	t.Parallel()
	tmpl, err := compileTemplates(&contracts.NotificationTemplate{
		Slack:   `[{"type":"section","text":{"type":"mrkdwn","text":"*{{.Integration.Name}}*: {{.Event.Text}} {{.Data.missing}}"}}]`,
		Teams:   `{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"{{.Event.Title}}"},{"type":"FactSet","facts":[{{range $k, $v := .Integration.Labels}}{"title":"{{$k}}","value":"{{$v}}"}{{end}}]}]}`,
		Webhook: `{"title":"{{.Event.Title}}","reason":"{{.Data.reason}}","labels":{{json .Integration.Labels}},"count":{{json .Data.count}}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tmpl.render(hostile())
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	section := r.slackBlocks[0].(map[string]any)["text"].(map[string]any)["text"]
	if section != `*a"},{"type":"evil*: line one`+"\n"+`line "two" &amp; &lt;three&gt; ` {
		t.Errorf("slack text %q: values must stay inside their string, mrkdwn-escaped", section)
	}
	if len(r.slackBlocks) != 1 {
		t.Errorf("a value injected a block: %v", r.slackBlocks)
	}
	if got := r.teamsCard["body"].([]any)[0].(map[string]any)["text"]; got != `Registry "prod" <down>` {
		t.Errorf("teams text %q", got)
	}
	if r.webhookData["reason"] != "EOF\r\n\t\\" || r.webhookData["count"] != float64(3) || r.webhookData["labels"].(map[string]any)["env"] != "prod" {
		t.Errorf("webhook data %v", r.webhookData)
	}
}

func TestHTMLTemplateEscapesAndPlainTemplatesDoNot(t *testing.T) {
	t.Parallel()
	tmpl, err := compileTemplates(&contracts.NotificationTemplate{
		Title: `{{.Event.Title}} {{.Data.nothing}}`,
		Text:  `{{.Event.Text}}`,
		HTML:  `<p title="{{.Integration.Name}}">{{.Event.Title}}</p>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tmpl.render(hostile())
	if err != nil {
		t.Fatal(err)
	}
	if r.title != `Registry "prod" <down>` || r.text != hostile().Event.Text {
		t.Errorf("plain text changed: %q / %q", r.title, r.text)
	}
	if !strings.Contains(r.html, "&lt;down&gt;") || strings.Contains(r.html, `"},{"`) {
		t.Errorf("html not escaped: %s", r.html)
	}
}

func TestTemplateOutputIsBounded(t *testing.T) {
	t.Parallel()
	tmpl, err := compileTemplates(&contracts.NotificationTemplate{Text: `{{range $i := .Data.many}}{{$.Event.Text}}{{end}}`})
	if err != nil {
		t.Fatal(err)
	}
	d := hostile()
	d.Data["many"] = make([]int, 5000)
	d.Event.Text = strings.Repeat("x", 100)
	if _, err := tmpl.render(d); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("render of 500 KB: %v", err)
	}
}

func TestHealthNotices(t *testing.T) {
	t.Parallel()
	base := contracts.HealthChanged{TenantID: tenantA, IntegrationID: "i1", TypeID: "docker-registry", Name: "Registry", Reason: "refused"}
	tests := []struct {
		from, to             contracts.HealthStatus
		severity, match, act string
		titleHas             string
	}{
		{contracts.HealthHealthy, contracts.HealthUnhealthy, "critical", "critical", "trigger", "is unhealthy"},
		{contracts.HealthHealthy, contracts.HealthDegraded, "warning", "warning", "trigger", "is degraded"},
		{contracts.HealthUnhealthy, contracts.HealthHealthy, "info", "critical", "resolve", "recovered"},
		{contracts.HealthDegraded, contracts.HealthHealthy, "info", "warning", "resolve", "recovered"},
		{contracts.HealthUnknown, contracts.HealthHealthy, "info", "info", "", "is healthy"},
	}
	for _, tc := range tests {
		ev := base
		ev.Previous, ev.Current = tc.from, tc.to
		n := healthNotice("i1:changed:2", ev)
		if n.severity != tc.severity || n.matchSeverity != tc.match || n.action != tc.act || !strings.Contains(n.title, tc.titleHas) {
			t.Errorf("%s→%s: %+v", tc.from, tc.to, n)
		}
		if n.incidentKey != tenantA+":i1" || n.threadKey != "i1" {
			t.Errorf("%s→%s: keys %q %q", tc.from, tc.to, n.incidentKey, n.threadKey)
		}
	}
}

func TestRuleMatching(t *testing.T) {
	t.Parallel()
	cr, err := compileRule(contracts.NotificationRule{Match: contracts.NotificationMatch{
		EventTypes: []string{contracts.SubjectHealthChanged}, Severities: []string{notify.SeverityCritical}, LabelSelector: "env=prod,!legacy",
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev := contracts.HealthChanged{TenantID: tenantA, IntegrationID: "i1", Labels: map[string]string{"env": "prod"},
		Previous: contracts.HealthHealthy, Current: contracts.HealthUnhealthy}
	if !cr.matches(healthNotice("a", ev)) {
		t.Error("outage of a prod integration not matched")
	}
	ev.Previous, ev.Current = contracts.HealthUnhealthy, contracts.HealthHealthy
	if !cr.matches(healthNotice("b", ev)) {
		t.Error("its recovery must match the rule that raised it")
	}
	ev.Previous, ev.Current = contracts.HealthHealthy, contracts.HealthDegraded
	if cr.matches(healthNotice("c", ev)) {
		t.Error("a warning matched a critical-only rule")
	}
	ev.Current, ev.Labels = contracts.HealthUnhealthy, map[string]string{"env": "prod", "legacy": "yes"}
	if cr.matches(healthNotice("d", ev)) {
		t.Error("the selector was ignored")
	}
	req, _ := requestNotice(contracts.NotificationSendRequested{RequestID: "r", TenantID: tenantA, Severity: "critical", Title: "t"})
	if cr.matches(req) {
		t.Error("a request matched a health-only rule")
	}
	cr.rule.Disabled = true
	ev.Labels = map[string]string{"env": "prod"}
	if cr.matches(healthNotice("e", ev)) {
		t.Error("a disabled rule matched")
	}
}

func TestChannelLimitSpacesMessages(t *testing.T) {
	t.Parallel()
	l := newChannelLimits(rate.Every(100*time.Millisecond), 1)
	start := time.Now()
	for range 3 {
		if err := l.wait(context.Background(), "t/i/#ops"); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 180*time.Millisecond {
		t.Errorf("3 messages in %s; the limit allows one per 100ms", took)
	}
	if err := l.wait(context.Background(), "t/i/#other"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_ = l.wait(ctx, "t/i/#other")
	if err := l.wait(ctx, "t/i/#other"); resilience.CodeOf(err) != resilience.RateLimited {
		t.Errorf("a wait past the deadline: %v, want RATE_LIMITED", err)
	}
}

func TestSampleDataRendersTheBuiltins(t *testing.T) {
	t.Parallel()
	for name := range builtinTemplates {
		tmpl, ok := builtin(name)
		if !ok {
			t.Fatalf("builtin %s", name)
		}
		for _, d := range sampleRenderData(tenantA, ruleEventTypes) {
			r, err := tmpl.render(d)
			if err != nil || r.title == "" {
				t.Errorf("%s on %s: %q %v", name, d.Event.Type, r.title, err)
			}
		}
	}
	b, _ := json.Marshal(sampleRenderData(tenantA, ruleEventTypes))
	if !strings.Contains(string(b), "Production Registry") {
		t.Error("samples lack an integration")
	}
}
