// Package notify is what the notifier and the notification providers agree
// on beyond connectors.Message: the keys of Message.Data that carry an
// action, a rendered provider format or attachments, and the severities.
//
// The notifier renders a rule's templates per provider and hands the result
// over in these keys; a provider reads the ones it understands and ignores
// the rest, so a Message without them still produces a plain notification.
package notify

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
)

// Keys of connectors.Message.Data.
const (
	// KeyAction is ActionTrigger or ActionResolve (a string). Incident
	// providers (PagerDuty, OpsGenie) resolve or close the alert of the
	// message's ThreadKey on ActionResolve; chat and mail providers post it
	// like any message.
	KeyAction = "action"
	// KeySlackBlocks holds Block Kit blocks ([]any) rendered from a rule's
	// slack template.
	KeySlackBlocks = "slackBlocks"
	// KeyTeamsCard holds an Adaptive Card (map[string]any) rendered from a
	// rule's teams template.
	KeyTeamsCard = "teamsCard"
	// KeyHTML holds the HTML body (string) of an email, rendered with
	// html/template's escaping.
	KeyHTML = "html"
	// KeyAttachments holds []Attachment.
	KeyAttachments = "attachments"
)

// Actions.
const (
	ActionTrigger = "trigger"
	ActionResolve = "resolve"
)

// Severities, most severe first; PagerDuty's vocabulary, which the other
// providers map onto theirs.
const (
	SeverityCritical = "critical"
	SeverityError    = "error"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Severities lists the severities, most severe first.
var Severities = []string{SeverityCritical, SeverityError, SeverityWarning, SeverityInfo}

// ValidSeverity reports whether s is one of Severities.
func ValidSeverity(s string) bool {
	for _, v := range Severities {
		if v == s {
			return true
		}
	}
	return false
}

// Attachment is a file sent with a message (email attaches it; providers
// without attachments ignore it).
type Attachment struct {
	Filename    string
	ContentType string
	Content     []byte
}

// Action returns the message's action: ActionResolve when Data says so,
// ActionTrigger otherwise.
func Action(m connectors.Message) string {
	if s, _ := m.Data[KeyAction].(string); strings.EqualFold(s, ActionResolve) {
		return ActionResolve
	}
	return ActionTrigger
}

// String returns Data[key] when it is a non-empty string.
func String(m connectors.Message, key string) string {
	s, _ := m.Data[key].(string)
	return s
}

// Attachments returns Data[KeyAttachments].
func Attachments(m connectors.Message) []Attachment {
	a, _ := m.Data[KeyAttachments].([]Attachment)
	return a
}

// Details returns Data without the keys of this package, for providers that
// show the rest as fields (custom details, alert details).
func Details(m connectors.Message) map[string]any {
	out := map[string]any{}
	for k, v := range m.Data {
		switch k {
		case KeyAction, KeySlackBlocks, KeyTeamsCard, KeyHTML, KeyAttachments:
			continue
		}
		out[k] = v
	}
	return out
}

// FlatDetails renders the values of Details as strings (JSON for anything
// but a string), for providers whose fields are string to string (OpsGenie
// details).
func FlatDetails(m connectors.Message, maxValue int) map[string]string {
	out := map[string]string{}
	for k, v := range Details(m) {
		s, isString := v.(string)
		if !isString {
			if b, err := json.Marshal(v); err == nil {
				s = string(b)
			} else {
				s = fmt.Sprint(v)
			}
		}
		if maxValue > 0 && len(s) > maxValue {
			s = Truncate(s, maxValue)
		}
		out[k] = s
	}
	return out
}

// Truncate cuts s to at most n bytes on a rune boundary, ending in "…" when
// it cut anything.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	if n <= len(ellipsis) {
		return s[:n]
	}
	cut := n - len(ellipsis)
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Summary is the one line a provider with a short title field shows: the
// title, else the text's first line.
func Summary(m connectors.Message) string {
	if t := strings.TrimSpace(m.Title); t != "" {
		return t
	}
	first, _, _ := strings.Cut(strings.TrimSpace(m.Text), "\n")
	return first
}
