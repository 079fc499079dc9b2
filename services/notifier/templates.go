package notifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// Template fields, named as in the API (errors point at "template.<field>").
const (
	fieldTitle   = "title"
	fieldText    = "text"
	fieldHTML    = "html"
	fieldSlack   = "slack"
	fieldTeams   = "teams"
	fieldWebhook = "webhook"
)

// maxRendered bounds one rendered template: no provider takes more (Slack
// blocks 50 x 3000 characters, Teams about 28 KB).
const maxRendered = 64 << 10

// renderData is what templates see.
type renderData struct {
	Event       eventView
	Integration integrationView
	Tenant      string
	Data        map[string]any
}

// eventView is the notice being sent.
type eventView struct {
	ID, Type, Severity, Action, Title, Text, ThreadKey string
}

// integrationView is the integration an event is about (a health event's;
// empty for a request about none).
type integrationView struct {
	ID, Name, TypeID string
	Labels           map[string]string
}

// templates is a rule's compiled templates; a nil field falls back to the
// notice's own title and text, the provider's default rendering otherwise.
type templates struct {
	title, text           *texttemplate.Template
	html                  *htmltemplate.Template
	slack, teams, webhook *texttemplate.Template
	// work holds each field's trees for the work bound (templatecost.go).
	work []*costTree
}

// Escapers appended to every printing action of a template whose output is
// not plain text: html/template does this for HTML; these do it for JSON.
const (
	escPlain = "_inthubPlain"
	escJSON  = "_inthubJSON"
	escSlack = "_inthubSlack"
)

func funcs() texttemplate.FuncMap {
	return texttemplate.FuncMap{
		// json prints a value as JSON; an action ending in json is not
		// escaped again, so it can place objects and arrays.
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"default": func(def, v any) any {
			if isEmpty(v) {
				return def
			}
			return v
		},
		"printf":   safePrintf,
		"upper":    func(v any) string { return strings.ToUpper(plain(v)) },
		"lower":    func(v any) string { return strings.ToLower(plain(v)) },
		"truncate": func(n int, v any) string { return truncateRunes(plain(v), n) },
		"join": func(sep string, v any) string {
			rv := reflect.ValueOf(v)
			if rv.Kind() != reflect.Slice {
				return plain(v)
			}
			parts := make([]string, rv.Len())
			for i := range parts {
				parts[i] = plain(rv.Index(i).Interface())
			}
			return strings.Join(parts, sep)
		},
		escPlain: plain,
		escJSON:  func(v any) string { return jsonString(plain(v)) },
		escSlack: func(v any) string { return jsonString(mrkdwn(plain(v))) },
	}
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Map, reflect.Slice:
		return rv.Len() == 0
	}
	return false
}

// plain prints a value; nil (a missing key) prints nothing rather than
// text/template's "<no value>".
func plain(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// jsonString escapes s for the inside of a JSON string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// mrkdwn escapes the three characters Slack's mrkdwn treats as markup.
func mrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if n < 0 || len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// templateError is an INVALID_TEMPLATE refusal pointing at one field.
func templateError(field string, format string, args ...any) error {
	return apierr.BadRequest(notifyrules.InvalidTemplate, "template %s: %s", field, fmt.Sprintf(format, args...)).
		With("field", "template."+field)
}

// compileTemplates parses a rule's templates; nil gives an empty set.
func compileTemplates(t *contracts.NotificationTemplate) (*templates, error) {
	out := &templates{}
	if t == nil {
		return out, nil
	}
	var err error
	text := func(field, src, esc string) *texttemplate.Template {
		if err != nil || strings.TrimSpace(src) == "" {
			return nil
		}
		var tt *texttemplate.Template
		tt, err = texttemplate.New(field).Funcs(funcs()).Parse(src)
		if err != nil {
			err = templateError(field, "%s", cleanTemplateError(err))
			return nil
		}
		autoEscape(tt, esc)
		out.work = append(out.work, newCostTree(field, field, treesOf(tt)))
		return tt
	}
	out.title = text(fieldTitle, t.Title, escPlain)
	out.text = text(fieldText, t.Text, escPlain)
	out.slack = text(fieldSlack, t.Slack, escSlack)
	out.teams = text(fieldTeams, t.Teams, escJSON)
	out.webhook = text(fieldWebhook, t.Webhook, escJSON)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(t.HTML) != "" {
		out.html, err = htmltemplate.New(fieldHTML).Funcs(htmltemplate.FuncMap(funcs())).Parse(t.HTML)
		if err != nil {
			return nil, templateError(fieldHTML, "%s", cleanTemplateError(err))
		}
		// html/template rewrites its trees at the first execution, under a
		// lock of its own: the work bound reads a second parse, never run.
		shadow, err := texttemplate.New(fieldHTML).Funcs(funcs()).Parse(t.HTML)
		if err != nil {
			return nil, templateError(fieldHTML, "%s", cleanTemplateError(err))
		}
		out.work = append(out.work, newCostTree(fieldHTML, fieldHTML, treesOf(shadow)))
	}
	return out, nil
}

// treesOf returns the parse trees of a template set by name.
func treesOf(t *texttemplate.Template) map[string]*parse.Tree {
	m := map[string]*parse.Tree{}
	for _, tt := range t.Templates() {
		m[tt.Name()] = tt.Tree
	}
	return m
}

// checkWork refuses templates whose work on the data a rule is designed
// for passes the bound (at save, before anything runs).
func (t *templates) checkWork() error {
	for _, c := range t.work {
		if err := c.check(c.designBounds()); err != nil {
			return err
		}
	}
	return nil
}

// cleanTemplateError drops the template package's "template: <name>:"
// prefix, which repeats the field.
func cleanTemplateError(err error) string {
	s := err.Error()
	if rest, ok := strings.CutPrefix(s, "template: "); ok {
		if _, after, found := strings.Cut(rest, ":"); found {
			return strings.TrimSpace(after)
		}
	}
	return s
}

// autoEscape appends esc to every action that prints, in every template of
// the set, unless the action already ends in json: values cannot break out
// of the JSON string they are placed in, nor inject Slack markup.
func autoEscape(t *texttemplate.Template, esc string) {
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			escapeList(tt.Tree.Root, esc)
		}
	}
}

func escapeList(l *parse.ListNode, esc string) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) == 0 {
				continue // {{$x := ...}} prints nothing
			}
			if last := n.Pipe.Cmds[len(n.Pipe.Cmds)-1]; len(last.Args) > 0 {
				if id, ok := last.Args[0].(*parse.IdentifierNode); ok && id.Ident == "json" {
					continue
				}
			}
			n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{
				NodeType: parse.NodeCommand, Pos: n.Pos,
				Args: []parse.Node{parse.NewIdentifier(esc).SetTree(nil).SetPos(n.Pos)},
			})
		case *parse.IfNode:
			escapeList(n.List, esc)
			escapeList(n.ElseList, esc)
		case *parse.RangeNode:
			escapeList(n.List, esc)
			escapeList(n.ElseList, esc)
		case *parse.WithNode:
			escapeList(n.List, esc)
			escapeList(n.ElseList, esc)
		}
	}
}

// boundedBuffer refuses output beyond maxRendered, and any output after
// its deadline.
type boundedBuffer struct {
	bytes.Buffer
	deadline time.Time
}

var (
	errTooLong = fmt.Errorf("output is longer than %d bytes", maxRendered)
	errTooSlow = fmt.Errorf("rendering took longer than %s", maxRenderTime)
)

func newBoundedBuffer() *boundedBuffer {
	return &boundedBuffer{deadline: time.Now().Add(maxRenderTime)}
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRendered {
		return 0, errTooLong
	}
	if time.Now().After(b.deadline) {
		return 0, errTooSlow
	}
	return b.Buffer.Write(p)
}

func execText(t *texttemplate.Template, d renderData) (string, error) {
	b := newBoundedBuffer()
	if err := t.Execute(b, d); err != nil {
		return "", errors.New(cleanTemplateError(err))
	}
	return b.String(), nil
}

// rendered is a notice rendered for one provider format.
type rendered struct {
	title, text, html string
	slackBlocks       []any
	teamsCard         map[string]any
	webhookData       map[string]any
}

// render runs every template the rule has, after checking their work on
// d against the bound (a rule stored before the bound existed is checked
// here too). Errors are INVALID_TEMPLATE refusals naming the field.
func (t *templates) render(d renderData) (rendered, error) {
	out := rendered{title: d.Event.Title, text: d.Event.Text}
	for _, c := range t.work {
		if err := c.check(c.boundsFor(d)); err != nil {
			return out, err
		}
	}
	var err error
	if t.title != nil {
		if out.title, err = execText(t.title, d); err != nil {
			return out, templateError(fieldTitle, "%s", err)
		}
		out.title = strings.TrimSpace(strings.ReplaceAll(out.title, "\n", " "))
	}
	if t.text != nil {
		if out.text, err = execText(t.text, d); err != nil {
			return out, templateError(fieldText, "%s", err)
		}
	}
	if t.html != nil {
		b := newBoundedBuffer()
		if err := t.html.Execute(b, d); err != nil {
			return out, templateError(fieldHTML, "%s", cleanTemplateError(err))
		}
		out.html = b.String()
	}
	if t.slack != nil {
		s, err := execText(t.slack, d)
		if err == nil {
			out.slackBlocks, err = slackBlocks(s)
		}
		if err != nil {
			return out, templateError(fieldSlack, "%s", err)
		}
	}
	if t.teams != nil {
		s, err := execText(t.teams, d)
		if err == nil {
			out.teamsCard, err = adaptiveCard(s)
		}
		if err != nil {
			return out, templateError(fieldTeams, "%s", err)
		}
	}
	if t.webhook != nil {
		s, err := execText(t.webhook, d)
		if err == nil {
			err = json.Unmarshal([]byte(s), &out.webhookData)
			if err != nil || out.webhookData == nil {
				err = fmt.Errorf("rendered output is not a JSON object: %v", err)
			}
		}
		if err != nil {
			return out, templateError(fieldWebhook, "%s", err)
		}
	}
	return out, nil
}

// slackBlocks checks Slack's shape: an array of 1..50 blocks, each an
// object with a type.
func slackBlocks(s string) ([]any, error) {
	var blocks []any
	if err := json.Unmarshal([]byte(s), &blocks); err != nil {
		return nil, fmt.Errorf("rendered output is not a JSON array of blocks: %v", err)
	}
	if len(blocks) == 0 || len(blocks) > 50 {
		return nil, fmt.Errorf("the template renders %d blocks; Slack takes 1 to 50", len(blocks))
	}
	for i, b := range blocks {
		m, ok := b.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("block %d is not an object", i)
		}
		if t, _ := m["type"].(string); t == "" {
			return nil, fmt.Errorf("block %d has no type", i)
		}
	}
	return blocks, nil
}

// adaptiveCard checks the card's shape: an AdaptiveCard object with a
// version and a body array.
func adaptiveCard(s string) (map[string]any, error) {
	var card map[string]any
	if err := json.Unmarshal([]byte(s), &card); err != nil || card == nil {
		return nil, fmt.Errorf("rendered output is not a JSON object: %v", err)
	}
	if card["type"] != "AdaptiveCard" {
		return nil, errors.New(`the card's type must be "AdaptiveCard"`)
	}
	if _, ok := card["version"].(string); !ok {
		return nil, errors.New("the card has no version")
	}
	if _, ok := card["body"].([]any); !ok {
		return nil, errors.New("the card has no body array")
	}
	return card, nil
}

// builtinTemplates are the named templates a notification.send.requested
// may ask for.
var builtinTemplates = map[string]*contracts.NotificationTemplate{
	"default": nil,
	"health-changed": {
		Title: `{{default .Integration.Name .Data.integrationName}} is {{.Data.current}}`,
		Text:  `{{.Data.reason}}{{with .Data.errorCode}} ({{.}}){{end}}{{with .Data.previous}}; was {{.}}{{end}}`,
	},
}

// builtin returns a named template, compiled.
func builtin(name string) (*templates, bool) {
	if name == "" {
		name = "default"
	}
	t, ok := builtinTemplates[name]
	if !ok {
		return nil, false
	}
	compiled, err := compileTemplates(t)
	if err != nil {
		panic("notifier: built-in template " + name + ": " + err.Error())
	}
	return compiled, true
}
