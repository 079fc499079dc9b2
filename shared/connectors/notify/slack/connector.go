package slack

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 200
	maxPageSize     = 1000
	// maxListRequests bounds the conversations.list calls one Discover makes
	// while a name filter leaves its page short.
	maxListRequests = 10
	// Block Kit limits: header text, section text; the fallback text is
	// kept well under the 40,000 characters Slack truncates at.
	maxHeader   = 150
	maxSection  = 3000
	maxFallback = 4000
)

var (
	teamID        = regexp.MustCompile(`^T[A-Z0-9]{2,}$`)
	channelID     = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	messageTS     = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{1,8}$`)
	reactionName  = regexp.MustCompile(`^[a-z0-9_+'-]{1,100}(::skin-tone-[2-6])?$`)
	channelByName = regexp.MustCompile(`^#?[a-z0-9][a-z0-9._-]{0,79}$`)
)

// CheckConnectivity calls api.test, which needs no token.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.do(ctx, call{method: "api.test", form: url.Values{}, anonymous: true}, nil)
}

// CheckAuthentication calls auth.test, and checks the token belongs to the
// configured workspace.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	var who struct {
		URL    string `json:"url"`
		Team   string `json:"team"`
		TeamID string `json:"team_id"`
	}
	if err := c.do(ctx, call{method: "auth.test", form: url.Values{}}, &who); err != nil {
		return err
	}
	if c.workspace == "" {
		return nil
	}
	domain := ""
	if u, err := url.Parse(who.URL); err == nil {
		domain, _, _ = strings.Cut(u.Hostname(), ".")
	}
	for _, name := range []string{who.TeamID, who.Team, domain} {
		if name != "" && strings.EqualFold(name, c.workspace) {
			return nil
		}
	}
	return resilience.New(resilience.InvalidConfig, "the Slack token belongs to workspace %s (%s), not %q", safeCode(who.TeamID), safeCode(domain), c.workspace)
}

// CheckFunctionality lists one channel.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	_, _, err := c.listChannels(ctx, "", 1)
	return err
}

// channel is an entry of conversations.list.
type channel struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	IsPrivate  bool   `json:"is_private"`
	IsArchived bool   `json:"is_archived"`
	IsMember   bool   `json:"is_member"`
	NumMembers int    `json:"num_members"`
	Topic      struct {
		Value string `json:"value"`
	} `json:"topic"`
	Purpose struct {
		Value string `json:"value"`
	} `json:"purpose"`
}

// listChannels reads one conversations.list page.
func (c *Connector) listChannels(ctx context.Context, cursor string, limit int) ([]channel, string, error) {
	form := url.Values{
		"limit": {strconv.Itoa(limit)}, "types": {strings.Join(c.channelTypes, ",")}, "exclude_archived": {"true"},
	}
	if cursor != "" {
		form.Set("cursor", cursor)
	}
	if teamID.MatchString(c.workspace) {
		form.Set("team_id", c.workspace) // org-wide apps must name the workspace
	}
	var answer struct {
		envelope
		Channels []channel `json:"channels"`
	}
	if err := c.do(ctx, call{method: "conversations.list", form: form}, &answer); err != nil {
		return nil, "", err
	}
	return answer.Channels, answer.ResponseMetadata.NextCursor, nil
}

// Discover implements connectors.Discoverer: channels, following Slack's
// cursor (pages may be short before the end: Slack filters after paging).
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	if q.ResourceType != ResourceChannels {
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
			"resource type %q: provider %s discovers %s", q.ResourceType, ProviderID, ResourceChannels)
	}
	pattern, err := kit.ParsePattern(strings.TrimPrefix(q.Filter.NamePattern, "#"))
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	start, err := kit.DecodeCursor(q.Cursor, kit.Position.Valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	// Slack filters after paging: a page may be short, even empty, before the
	// end, so an empty page does not end the listing.
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	channels, next, err := kit.Collect(ctx, collector, start, func(ch channel) bool { return pattern.Match(ch.Name) }, c.listChannels)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: make([]contracts.Resource, 0, len(channels))}
	for _, ch := range channels {
		page.Items = append(page.Items, contracts.Resource{Type: ResourceChannels, Name: ch.Name, ID: ch.ID, Attributes: map[string]any{
			"isPrivate": ch.IsPrivate, "isArchived": ch.IsArchived, "isMember": ch.IsMember, "numMembers": ch.NumMembers,
			"topic": ch.Topic.Value, "purpose": ch.Purpose.Value,
		}})
	}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(*next)
	}
	return page, nil
}

// MessageID renders a message's provider id, "<channel id>:<ts>".
func MessageID(channel, ts string) string { return channel + ":" + ts }

// ParseMessageID reads an id from MessageID.
func ParseMessageID(id string) (channel, ts string, ok bool) {
	channel, ts, ok = strings.Cut(id, ":")
	if !ok || !channelID.MatchString(channel) || !messageTS.MatchString(ts) {
		return "", "", false
	}
	return channel, ts, true
}

// Notify posts m with chat.postMessage and returns the thread root's id:
// the new message, or the parent it replied to. It replies in a thread
// when m.ThreadKey is a message id or m.Data["thread_ts"] holds a ts or id.
func (c *Connector) Notify(ctx context.Context, m connectors.Message) (string, error) {
	target, threadTS, err := c.destination(m)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(m.Title) == "" && strings.TrimSpace(m.Text) == "" {
		return "", resilience.New(resilience.InvalidConfig, "slack chat.postMessage: the message has neither title nor text")
	}
	body := map[string]any{
		"channel": target, "text": fallback(m), "blocks": blocks(m),
		"unfurl_links": false, "unfurl_media": false,
	}
	if c.iconEmoji != "" {
		body["icon_emoji"] = c.iconEmoji
	}
	if threadTS != "" {
		body["thread_ts"] = threadTS
	}
	var posted struct {
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	if err := c.do(ctx, call{method: "chat.postMessage", json: body}, &posted); err != nil {
		return "", err
	}
	if posted.Channel == "" || posted.TS == "" {
		return "", resilience.New(resilience.UpstreamError, "slack chat.postMessage: the answer names no channel and ts")
	}
	if threadTS != "" {
		return MessageID(posted.Channel, threadTS), nil
	}
	return MessageID(posted.Channel, posted.TS), nil
}

// destination picks the channel and the thread of m: a thread key that is
// a message id fixes both (a reply lives in its parent's channel).
func (c *Connector) destination(m connectors.Message) (channel, threadTS string, err error) {
	channel = m.Channel
	if channel == "" {
		channel = c.defaultChannel
	}
	if v, _ := m.Data["thread_ts"].(string); v != "" {
		if ch, ts, ok := ParseMessageID(v); ok {
			channel, threadTS = ch, ts
		} else if messageTS.MatchString(v) {
			threadTS = v
		} else {
			return "", "", resilience.New(resilience.InvalidConfig, "Data[\"thread_ts\"] is neither a Slack ts nor a message id")
		}
	} else if ch, ts, ok := ParseMessageID(m.ThreadKey); ok {
		channel, threadTS = ch, ts
	}
	switch {
	case channel == "":
		return "", "", resilience.New(resilience.InvalidConfig, "the message names no channel and the integration has no defaultChannel")
	case !channelID.MatchString(channel) && !channelByName.MatchString(channel):
		return "", "", resilience.New(resilience.InvalidConfig, "%q is not a Slack channel id or name", channel)
	}
	return channel, threadTS, nil
}

// severityEmoji marks a severity in the context block.
var severityEmoji = map[string]string{
	"critical": ":red_circle:", "error": ":red_circle:", "high": ":red_circle:",
	"warning": ":warning:", "medium": ":warning:",
	"info": ":information_source:", "low": ":information_source:", "success": ":white_check_mark:",
}

// blocks renders m as Block Kit: a header for the title, a section for the
// text, a context line for the severity.
func blocks(m connectors.Message) []any {
	// A rule's Slack template, already rendered and checked by the
	// notifier, replaces the default blocks.
	if rendered, ok := m.Data[notify.KeySlackBlocks].([]any); ok && len(rendered) > 0 {
		return rendered
	}
	var out []any
	if t := strings.TrimSpace(m.Title); t != "" {
		out = append(out, map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(t, maxHeader), "emoji": true}})
	}
	if t := strings.TrimSpace(m.Text); t != "" {
		out = append(out, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(escape(t), maxSection)}})
	}
	if s := strings.ToLower(strings.TrimSpace(m.Severity)); s != "" {
		emoji := severityEmoji[s]
		if emoji == "" {
			emoji = ":grey_question:"
		}
		out = append(out, map[string]any{"type": "context", "elements": []any{
			map[string]any{"type": "mrkdwn", "text": emoji + " Severity: *" + truncate(escape(s), 50) + "*"},
		}})
	}
	return out
}

// fallback is the notification text: "[SEVERITY] title: text".
func fallback(m connectors.Message) string {
	var b strings.Builder
	if s := strings.TrimSpace(m.Severity); s != "" {
		b.WriteString("[" + strings.ToUpper(s) + "] ")
	}
	b.WriteString(strings.TrimSpace(m.Title))
	if t := strings.TrimSpace(m.Text); t != "" {
		if m.Title != "" {
			b.WriteString(": ")
		}
		b.WriteString(t)
	}
	return truncate(escape(b.String()), maxFallback)
}

// escape applies Slack's text escaping: &, < and > are control characters.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate keeps at most n runes, marking a cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// React adds the emoji reaction name (with or without colons) to the
// message ts of channel; a reaction already there is success.
func (c *Connector) React(ctx context.Context, channel, ts, name string) error {
	name = strings.Trim(name, ":")
	switch {
	case !channelID.MatchString(channel):
		return resilience.New(resilience.InvalidConfig, "slack reactions.add: %q is not a channel id", channel)
	case !messageTS.MatchString(ts):
		return resilience.New(resilience.InvalidConfig, "slack reactions.add: %q is not a message ts", ts)
	case !reactionName.MatchString(name):
		return resilience.New(resilience.InvalidConfig, "slack reactions.add: %q is not an emoji name", name)
	}
	err := c.do(ctx, call{method: "reactions.add", json: map[string]any{"channel": channel, "timestamp": ts, "name": name}}, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "already_reacted" {
		return nil
	}
	return err
}
