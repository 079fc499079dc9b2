package notifier

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// doublingTemplate is about 1.5 KB of nested {{define}}s, each calling the
// previous one twice: 2^levels calls, none of which prints.
func doublingTemplate(levels int) string {
	var b strings.Builder
	b.WriteString(`{{define "0"}}{{if 1}}{{end}}{{end}}`)
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, `{{define "%d"}}{{template "%d"}}{{template "%d"}}{{end}}`, i, i-1, i-1)
	}
	fmt.Fprintf(&b, `{{template "%d"}}`, levels)
	return b.String()
}

// withinSecond runs f and fails the test if it does not return within a
// second: on code without a work bound it would spin for minutes.
func withinSecond[T any](t *testing.T, f func() T) (T, time.Duration) {
	t.Helper()
	done := make(chan T, 1)
	start := time.Now()
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v, time.Since(start)
	case <-time.After(time.Second):
		t.Fatal("still running after a second: the template's work is not bounded")
		panic("unreachable")
	}
}

// realisticTemplate is a webhook body a team would write: ranges over
// labels and data, conditions, a nested define, helpers.
const realisticTemplate = `{{define "label"}}"{{.}}"{{end}}` +
	`{"title":"{{.Event.Title}}","severity":"{{upper .Event.Severity}}",` +
	`"integration":"{{default "none" .Integration.Name}}",` +
	`{{if eq .Event.Severity "critical" "warning"}}"page":true,{{else}}"page":false,{{end}}` +
	`"labels":{ {{- range $k, $v := .Integration.Labels}}{{template "label" $k}}:"{{$v}}",{{end}}"_":""},` +
	`"facts":{{json .Data}},` +
	`"summary":"{{printf "%.200s" .Event.Text}}",` +
	`"count":{{len .Integration.Labels}}}`

func TestTemplateWorkIsBoundedBeforeAnythingRuns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, field string
		tmpl        contracts.NotificationTemplate
		want        string // in the refusal
	}{
		{"doubling defines", "text", contracts.NotificationTemplate{Text: doublingTemplate(30)}, "limit"},
		{"doubling defines in html", "html", contracts.NotificationTemplate{HTML: doublingTemplate(30)}, "limit"},
		{"range over a huge number", "title", contracts.NotificationTemplate{Title: `{{range 2000000000}}{{end}}`}, "limit"},
		{"range over a number in a variable", "text", contracts.NotificationTemplate{Text: `{{$n := 2000000000}}{{range $n}}{{end}}`}, "limit"},
		{"nested ranges over one list", "webhook", contracts.NotificationTemplate{
			Webhook: `{"x":"{{range .Data}}{{range $.Data}}{{range $.Data}}{{if .}}{{end}}{{end}}{{end}}{{end}}"}`}, "limit"},
		{"recursion", "text", contracts.NotificationTemplate{Text: `{{define "a"}}{{template "b" .}}{{end}}{{define "b"}}{{template "a" .}}{{end}}{{template "a" .}}`}, "recursion"},
		{"printf width", "slack", contracts.NotificationTemplate{Slack: `[{"type":"section","text":"{{printf "%999999999d" 1}}"}]`}, "printf"},
		{"printf width from an argument", "teams", contracts.NotificationTemplate{Teams: `{{printf "%*d" 999999999 1}}`}, "printf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := compileTemplates(&tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			err, took := withinSecond(t, tmpl.checkWork)
			ae := apiError(t, err)
			if ae.Code != notifyrules.InvalidTemplate || ae.Details["field"] != "template."+tc.field || !strings.Contains(ae.Message, tc.want) {
				t.Fatalf("refusal %s %q %v", ae.Code, ae.Message, ae.Details)
			}
			if took > 100*time.Millisecond {
				t.Errorf("refused in %s", took)
			}
			// A rule stored before the bound existed is refused before it
			// renders, on every event (here one whose data has 200 keys).
			d := hostile()
			for i := range 200 {
				d.Data[fmt.Sprint("key", i)] = i
			}
			_, err, took = withinSecond2(t, func() (rendered, error) { return tmpl.render(d) })
			if apiError(t, err).Code != notifyrules.InvalidTemplate || took > 100*time.Millisecond {
				t.Fatalf("render: %v in %s", err, took)
			}
		})
	}
}

// withinSecond2 is withinSecond for a function with two results.
func withinSecond2[A, B any](t *testing.T, f func() (A, B)) (A, B, time.Duration) {
	t.Helper()
	type pair struct {
		a A
		b B
	}
	p, took := withinSecond(t, func() pair { a, b := f(); return pair{a, b} })
	return p.a, p.b, took
}

func TestDoublingTemplateIsRefusedAtSave(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	hook := h.addIntegration(tenantA, "webhook", map[string]any{"url": "https://hooks.example.com/x"}, "", nil)
	in := healthRule("doubling", contracts.NotificationTarget{IntegrationID: hook.ID})
	in.Match.EventTypes = append(in.Match.EventTypes, contracts.SubjectNotificationRequest)
	in.Template = &contracts.NotificationTemplate{Text: doublingTemplate(30)}
	if n := len(in.Template.Text); n > 2048 {
		t.Fatalf("the template is %d bytes; the point is that a small one does this", n)
	}
	_, err, took := withinSecond2(t, func() (contracts.NotificationRule, error) {
		return h.rules.Create(context.Background(), notifyrules.CreateRequest{TenantID: tenantA, Input: in})
	})
	ae := apiError(t, err)
	if ae.Status != 400 || ae.Code != notifyrules.InvalidTemplate || ae.Details["field"] != "template.text" ||
		!strings.Contains(ae.Message, fmt.Sprint(maxTemplateWork)) {
		t.Fatalf("got %d %s %q %v", ae.Status, ae.Code, ae.Message, ae.Details)
	}
	if took > 250*time.Millisecond {
		t.Errorf("refused in %s, want well under a second", took)
	}
	t.Logf("doubling template (%d bytes) refused in %s: %s", len(in.Template.Text), took, ae.Message)

	// A realistic template is accepted and renders.
	in.Name, in.Template = "realistic", &contracts.NotificationTemplate{Webhook: realisticTemplate, Title: `{{.Event.Title}}{{with .Integration.Labels.environment}} [{{.}}]{{end}}`}
	if _, err := h.rules.Create(context.Background(), notifyrules.CreateRequest{TenantID: tenantA, Input: in}); err != nil {
		t.Fatalf("a realistic template is refused: %v", err)
	}
}

func TestNormalTemplatesStillRender(t *testing.T) {
	t.Parallel()
	tmpl, err := compileTemplates(&contracts.NotificationTemplate{Webhook: realisticTemplate})
	if err != nil {
		t.Fatal(err)
	}
	if err := tmpl.checkWork(); err != nil {
		t.Fatalf("a realistic template is over the bound: %v", err)
	}
	d := hostile()
	d.Event.Severity = "critical"
	r, err := tmpl.render(d)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if r.webhookData["page"] != true || r.webhookData["severity"] != "CRITICAL" || r.webhookData["count"] != float64(1) {
		t.Errorf("rendered %v", r.webhookData)
	}
	builtinTmpl, _ := builtin("health-changed")
	for _, d := range sampleRenderData(tenantA, ruleEventTypes) {
		if r, err := builtinTmpl.render(d); err != nil || r.title == "" {
			t.Errorf("built-in on %s: %q %v", d.Event.Type, r.title, err)
		}
	}
}

func TestTemplateWorkIsCheckedOnTheDataOfEachRender(t *testing.T) {
	t.Parallel()
	// Two nested ranges over data pass at save (lists of 100) but not on
	// a list of 5000, where they would make 25 million steps.
	tmpl, err := compileTemplates(&contracts.NotificationTemplate{Text: `{{range .Data.items}}{{range $.Data.items}}{{if .}}{{end}}{{end}}{{end}}`})
	if err != nil {
		t.Fatal(err)
	}
	if err := tmpl.checkWork(); err != nil {
		t.Fatalf("refused at save: %v", err)
	}
	d := hostile()
	d.Data["items"] = make([]any, 50)
	if _, err := tmpl.render(d); err != nil {
		t.Fatalf("50 items: %v", err)
	}
	d.Data["items"] = make([]any, 5000)
	_, err, took := withinSecond2(t, func() (rendered, error) { return tmpl.render(d) })
	if ae := apiError(t, err); ae.Code != notifyrules.InvalidTemplate || !strings.Contains(ae.Message, "5000 iterations") || took > 100*time.Millisecond {
		t.Fatalf("5000 items: %v in %s", err, took)
	}
}

func TestPrintfFormatsAreBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		ok     bool
	}{
		{"%s %d %v %%", true},
		{"%-20s|%08.3f|%[2]d", true},
		{"%1000d", true},
		{"%1001d", false},
		{"%.99999999s", false},
		{"%*d", false},
		{"%-*.*f", false},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			if err := checkPrintfFormat(tc.format); (err == nil) != tc.ok {
				t.Errorf("checkPrintfFormat(%q) = %v", tc.format, err)
			}
		})
	}
	// A format from the data is checked when it runs.
	tmpl, err := compileTemplates(&contracts.NotificationTemplate{Text: `{{printf .Data.format 1}}`})
	if err != nil {
		t.Fatal(err)
	}
	d := hostile()
	d.Data["format"] = "%999999999d"
	if _, err := tmpl.render(d); err == nil || !strings.Contains(err.Error(), "printf") {
		t.Fatalf("a huge width from the data: %v", err)
	}
}

func TestRenderStopsPrintingPastItsDeadline(t *testing.T) {
	t.Parallel()
	b := newBoundedBuffer()
	if _, err := b.Write([]byte("before")); err != nil {
		t.Fatal(err)
	}
	b.deadline = time.Now().Add(-time.Millisecond)
	if _, err := b.Write([]byte("after")); err != errTooSlow {
		t.Fatalf("write after the deadline: %v", err)
	}
}
