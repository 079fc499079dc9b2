package notifier

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// Preview bounds. Each template's source is bounded as its schema says
// (templateLimits); each output shown is cut at maxPreviewOutput so the
// answer stays far below a NATS message (six formats, three samples); and
// rendering every sample stops at maxPreviewTime, a line behind the static
// work bound that already refuses an expensive template before it runs.
const (
	maxPreviewOutput = 16 << 10
	maxPreviewTime   = 2 * time.Second
)

// templateLimits are the longest sources of each template field, in
// characters, as notification-template.schema.json declares them.
var templateLimits = []struct {
	field string
	limit int
	src   func(*contracts.NotificationTemplate) string
}{
	{fieldTitle, 2000, func(t *contracts.NotificationTemplate) string { return t.Title }},
	{fieldText, 16384, func(t *contracts.NotificationTemplate) string { return t.Text }},
	{fieldHTML, 16384, func(t *contracts.NotificationTemplate) string { return t.HTML }},
	{fieldSlack, 16384, func(t *contracts.NotificationTemplate) string { return t.Slack }},
	{fieldTeams, 16384, func(t *contracts.NotificationTemplate) string { return t.Teams }},
	{fieldWebhook, 16384, func(t *contracts.NotificationTemplate) string { return t.Webhook }},
}

// checkTemplateSizes refuses a template source longer than its field takes.
func checkTemplateSizes(t *contracts.NotificationTemplate) error {
	if t == nil {
		return nil
	}
	for _, l := range templateLimits {
		if n := utf8.RuneCountInString(l.src(t)); n > l.limit {
			return templateError(l.field, "the template is %d characters long; at most %d are taken", n, l.limit)
		}
	}
	return nil
}

// Preview renders a tenant's templates on the sample events of the event
// types asked for, exactly as a rule's are checked when it is saved, and
// answers what they render. Nothing is stored and no target is needed.
func (s *ruleStore) Preview(_ context.Context, r notifyrules.PreviewRequest) (contracts.NotificationPreview, error) {
	if err := validTenant(r.TenantID); err != nil {
		return contracts.NotificationPreview{}, err
	}
	return preview(r.TenantID, r.Input)
}

func preview(tenantID string, in contracts.NotificationPreviewInput) (contracts.NotificationPreview, error) {
	out := contracts.NotificationPreview{Samples: []contracts.NotificationPreviewSample{}}
	if err := validateMatch(contracts.NotificationMatch{EventTypes: in.EventTypes}); err != nil {
		return out, renameField(err, "match.eventTypes", "eventTypes")
	}
	if err := checkTemplateSizes(&in.Template); err != nil {
		return out, err
	}
	tmpl, err := compileTemplates(&in.Template)
	if err != nil {
		return out, err
	}
	if err := tmpl.checkWork(); err != nil {
		return out, err
	}
	deadline := time.Now().Add(maxPreviewTime)
	for _, d := range sampleRenderData(tenantID, in.EventTypes) {
		if time.Now().After(deadline) {
			return out, templateError(fieldTitle, "rendering the samples took longer than %s", maxPreviewTime)
		}
		res, err := tmpl.render(d)
		if err != nil {
			return out, err
		}
		sample := contracts.NotificationPreviewSample{EventType: d.Event.Type, Summary: d.Event.Title}
		cut := func(s string) string {
			if len(s) <= maxPreviewOutput {
				return s
			}
			sample.Truncated = true
			b := []byte(s[:maxPreviewOutput])
			for len(b) > 0 && !utf8.Valid(b) {
				b = b[:len(b)-1]
			}
			return string(b)
		}
		asJSON := func(v any, set bool) string {
			if !set {
				return ""
			}
			b, _ := json.MarshalIndent(v, "", "  ")
			return cut(string(b))
		}
		sample.Title, sample.Text, sample.HTML = cut(res.title), cut(res.text), cut(res.html)
		sample.Slack = asJSON(res.slackBlocks, tmpl.slack != nil)
		sample.Teams = asJSON(res.teamsCard, tmpl.teams != nil)
		sample.Webhook = asJSON(res.webhookData, tmpl.webhook != nil)
		out.Samples = append(out.Samples, sample)
	}
	return out, nil
}

// renameField points a match refusal at the preview's own field: the
// preview takes eventTypes at the top level, not under match.
func renameField(err error, from, to string) error {
	e := apierr.From(err)
	f, _ := e.Details["field"].(string)
	if !strings.HasPrefix(f, from) {
		return err
	}
	c := e.With("field", to+strings.TrimPrefix(f, from))
	c.Message = strings.ReplaceAll(c.Message, from, to)
	return c
}
