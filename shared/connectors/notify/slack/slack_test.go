package slack

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func level(l contracts.CheckType, c *Connector) func(context.Context) error {
	switch l {
	case contracts.CheckConnectivity:
		return c.CheckConnectivity
	case contracts.CheckAuthentication:
		return c.CheckAuthentication
	}
	return c.CheckFunctionality
}

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		level  contracts.CheckType
		secret string
		noRef  bool
		config map[string]any
		want   resilience.Code
		method string
		calls  int
	}{
		{name: "connectivity needs no token", level: contracts.CheckConnectivity, secret: wrongToken, method: "api.test", calls: 1},
		{name: "authentication", level: contracts.CheckAuthentication, secret: botToken, method: "auth.test", calls: 1},
		{name: "the workspace by domain", level: contracts.CheckAuthentication, secret: botToken, config: map[string]any{"workspace": "acme-corp"},
			method: "auth.test", calls: 1},
		{name: "the workspace by team id", level: contracts.CheckAuthentication, secret: `{"token":"` + botToken + `"}`,
			config: map[string]any{"workspace": "T0ACME"}, method: "auth.test", calls: 1},
		{name: "the workspace by name", level: contracts.CheckAuthentication, secret: botToken, config: map[string]any{"workspace": "acme corp"},
			method: "auth.test", calls: 1},
		{name: "a token of another workspace", level: contracts.CheckAuthentication, secret: botToken, config: map[string]any{"workspace": "globex"},
			want: resilience.InvalidConfig, method: "auth.test", calls: 1},
		{name: "wrong token: invalid_auth", level: contracts.CheckAuthentication, secret: wrongToken, want: resilience.AuthenticationFailed, method: "auth.test", calls: 1},
		{name: "no token: not_authed", level: contracts.CheckAuthentication, noRef: true, want: resilience.AuthenticationFailed, method: "auth.test", calls: 1},
		{name: "token_revoked", level: contracts.CheckAuthentication, secret: revokedToken, want: resilience.AuthenticationFailed, method: "auth.test", calls: 1},
		{name: "unset variable", level: contracts.CheckAuthentication, want: resilience.CredentialFetchFailed, method: "auth.test", calls: 0},
		{name: "functionality", level: contracts.CheckFunctionality, secret: botToken, method: "conversations.list", calls: 1},
		{name: "functionality without groups:read", level: contracts.CheckFunctionality, secret: publicToken,
			want: resilience.PermissionDenied, method: "conversations.list", calls: 1},
		{name: "functionality of public channels only", level: contracts.CheckFunctionality, secret: publicToken,
			config: map[string]any{"channelTypes": []any{"public_channel"}}, method: "conversations.list", calls: 1},
		{name: "functionality with a wrong token", level: contracts.CheckFunctionality, secret: wrongToken,
			want: resilience.AuthenticationFailed, method: "conversations.list", calls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			f.addChannels(5)
			c := newConnector(t, f, setup{config: tc.config, secret: tc.secret, noRef: tc.noRef})
			timer, err := retry(t, level(tc.level, c))
			checkCode(t, err, tc.want)
			if n := f.count(tc.method); n != tc.calls {
				t.Fatalf("%s called %d times, want %d", tc.method, n, tc.calls)
			}
			if tc.want == resilience.AuthenticationFailed && len(timer.Waits()) != 0 {
				t.Fatalf("an authentication failure was retried after %v", timer.Waits())
			}
			if tc.name == "functionality without groups:read" && !strings.Contains(err.Error(), "groups:read") {
				t.Fatalf("the error does not name the missing scope: %v", err)
			}
		})
	}
}

// TestOKFalseMapping answers each method with Slack's error codes.
func TestOKFalseMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		slackCode string
		want      resilience.Code
	}{
		{"invalid_auth", resilience.AuthenticationFailed},
		{"not_authed", resilience.AuthenticationFailed},
		{"account_inactive", resilience.AuthenticationFailed},
		{"token_revoked", resilience.AuthenticationFailed},
		{"token_expired", resilience.AuthenticationFailed},
		{"missing_scope", resilience.PermissionDenied},
		{"not_in_channel", resilience.PermissionDenied},
		{"channel_not_found", resilience.ResourceNotFound},
		{"ratelimited", resilience.RateLimited},
		{"invalid_blocks", resilience.InvalidConfig},
		{"msg_too_long", resilience.InvalidConfig},
		{"is_archived", resilience.InvalidConfig},
		{"internal_error", resilience.UpstreamError},
		{"fatal_error", resilience.UpstreamError},
		{"a_code_from_the_future", resilience.UpstreamError},
	}
	ops := map[string]func(*Connector, context.Context) error{
		"auth.test": (*Connector).CheckAuthentication,
		"conversations.list": func(c *Connector, ctx context.Context) error {
			_, err := c.Discover(ctx, connectors.DiscoveryQuery{ResourceType: ResourceChannels})
			return err
		},
		"chat.postMessage": func(c *Connector, ctx context.Context) error {
			_, err := c.Notify(ctx, connectors.Message{Channel: "C0RELEASES", Text: "hello"})
			return err
		},
	}
	for _, tc := range tests {
		for method, op := range ops {
			t.Run(method+"/"+tc.slackCode, func(t *testing.T) {
				t.Parallel()
				f := newFakeSlack(t)
				f.addChannels(3)
				c := newConnector(t, f, setup{secret: botToken})
				f.force(method, tc.slackCode)
				err := op(c, ctxT(t))
				checkCode(t, err, tc.want)
				var ae *APIError
				if !errors.As(err, &ae) || ae.Code != tc.slackCode || ae.Method != method {
					t.Fatalf("error %v does not carry Slack's code %s", err, tc.slackCode)
				}
				// Under the retry loop: what may be retried is, once, then
				// succeeds; the rest stops at the first call.
				f.force(method, tc.slackCode)
				_, err = retry(t, func(ctx context.Context) error { return op(c, ctx) })
				calls := f.count(method) - 1
				switch resilience.StrategyFor(tc.want) {
				case resilience.NoRetry:
					checkCode(t, err, tc.want)
					if calls != 1 {
						t.Fatalf("%s sent %d times, want 1", method, calls)
					}
				default:
					checkCode(t, err, "")
					if calls != 2 {
						t.Fatalf("%s sent %d times, want 2", method, calls)
					}
				}
			})
		}
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	tests := []struct {
		name   string
		secret string
		config map[string]any
		q      query
		keep   func(*fakeChannel) bool
		code   resilience.Code
	}{
		{name: "channels in pages of 200", secret: botToken, q: query{ResourceType: ResourceChannels},
			keep: func(ch *fakeChannel) bool { return !ch.archived && (!ch.private || ch.member) }},
		{name: "small pages", secret: botToken, q: query{ResourceType: ResourceChannels, PageSize: 60},
			keep: func(ch *fakeChannel) bool { return !ch.archived && (!ch.private || ch.member) }},
		{name: "deploy channels", secret: botToken, q: query{ResourceType: ResourceChannels, PageSize: 25, Filter: filter{NamePattern: "#deploy-*"}},
			keep: func(ch *fakeChannel) bool {
				return !ch.archived && (!ch.private || ch.member) && strings.HasPrefix(ch.name, "deploy-")
			}},
		{name: "public channels only", secret: publicToken, config: map[string]any{"channelTypes": []any{"public_channel"}},
			q: query{ResourceType: ResourceChannels}, keep: func(ch *fakeChannel) bool { return !ch.archived && !ch.private }},
		{name: "private channels without groups:read", secret: publicToken, q: query{ResourceType: ResourceChannels}, code: resilience.PermissionDenied},
		{name: "a cursor Slack did not issue", secret: botToken, q: query{ResourceType: ResourceChannels, Cursor: "bm9wZQ=="}, code: resilience.InvalidConfig},
		{name: "a cursor that is not one", secret: botToken, q: query{ResourceType: ResourceChannels, Cursor: "a&b"}, code: resilience.InvalidConfig},
		{name: "unknown resource type", secret: botToken, q: query{ResourceType: "users"}, code: resilience.NotSupported},
		{name: "wrong token", secret: wrongToken, q: query{ResourceType: ResourceChannels}, code: resilience.AuthenticationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			f.addChannels(450)
			c := newConnector(t, f, setup{config: tc.config, secret: tc.secret})
			got, err := discoverAll(t, c, tc.q)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			var want []string
			for _, ch := range f.channels {
				if tc.keep(ch) {
					want = append(want, ch.name)
				}
			}
			if !slices.Equal(got.Names, want) {
				t.Fatalf("discovered %d channels, want %d", len(got.Names), len(want))
			}
			size := tc.q.PageSize
			if size == 0 {
				size = defaultPageSize
			}
			for i, n := range got.PageSizes {
				if n > size || (i < len(got.PageSizes)-1 && n == 0) {
					t.Fatalf("page sizes %v: over %d, or empty before the end", got.PageSizes, size)
				}
			}
			if tc.q.Filter.NamePattern == "" && got.PageSizes[0] != size {
				t.Fatalf("first page %d, want a full %d (short Slack pages are followed)", got.PageSizes[0], size)
			}
			for _, r := range got.Resources {
				if r.Type != ResourceChannels || !strings.HasPrefix(r.ID, "C") || r.Attributes["isArchived"] != false {
					t.Fatalf("resource %+v", r)
				}
			}
			if warnings, inBody := f.seen(); len(warnings) != 0 || inBody != 0 {
				t.Fatalf("warnings %v, token in %d bodies", warnings, inBody)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method string
		op     func(*Connector, context.Context) error
	}{
		{"conversations.list", (*Connector).CheckFunctionality},
		{"chat.postMessage", func(c *Connector, ctx context.Context) error {
			_, err := c.Notify(ctx, connectors.Message{Title: "t"})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			f.addChannels(3)
			c := newConnector(t, f, setup{secret: botToken, config: map[string]any{"defaultChannel": "#releases"}})
			f.throttle(tc.method, 30)
			err := tc.op(c, ctxT(t))
			checkCode(t, err, resilience.RateLimited)
			if d := resilience.RetryAfterOf(err); d != 30*time.Second {
				t.Fatalf("retry after %s, want 30s", d)
			}
			f.throttle(tc.method, 30)
			timer, err := retry(t, func(ctx context.Context) error { return tc.op(c, ctx) })
			checkCode(t, err, "")
			if w := timer.Waits(); !slices.Equal(w, []time.Duration{30 * time.Second}) {
				t.Fatalf("waits %v, want exactly 30s", w)
			}
			if n := f.count(tc.method); n != 3 {
				t.Fatalf("%d calls, want 3", n)
			}
		})
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	f.addChannels(10)
	c := newConnector(t, f, setup{secret: botToken, config: map[string]any{"defaultChannel": "#releases", "iconEmoji": ":rocket:"}})

	id, err := c.Notify(ctxT(t), connectors.Message{Severity: "critical", Title: "Promotion blocked", Text: "Gate <failed> for a & b"})
	checkCode(t, err, "")
	root := f.channel("C0RELEASES").messages[0]
	if id != "C0RELEASES:"+root.ts || root.icon != ":rocket:" || root.threadTS != "" {
		t.Fatalf("id %q for message %+v", id, root)
	}
	if root.text != "[CRITICAL] Promotion blocked: Gate &lt;failed&gt; for a &amp; b" {
		t.Fatalf("fallback text %q", root.text)
	}
	types := []string{}
	for _, b := range root.blocks {
		types = append(types, b["type"].(string))
	}
	if !slices.Equal(types, []string{"header", "section", "context"}) {
		t.Fatalf("blocks %v", root.blocks)
	}

	// A reply by thread key lands in the parent's thread and returns the
	// parent's id; so does one by Data["thread_ts"].
	reply, err := c.Notify(ctxT(t), connectors.Message{Channel: "#ignored-for-threads", ThreadKey: id, Text: "retrying"})
	checkCode(t, err, "")
	byData, err := c.Notify(ctxT(t), connectors.Message{Text: "done", Data: map[string]any{"thread_ts": root.ts}})
	checkCode(t, err, "")
	msgs := f.channel("C0RELEASES").messages
	if reply != id || byData != id || len(msgs) != 3 || msgs[1].threadTS != root.ts || msgs[2].threadTS != root.ts {
		t.Fatalf("replies %q %q, messages %+v", reply, byData, msgs)
	}

	long := strings.Repeat("é", 200)
	_, err = c.Notify(ctxT(t), connectors.Message{Title: long, Text: strings.Repeat("x", 5000)})
	checkCode(t, err, "")

	tests := []struct {
		name string
		m    connectors.Message
		want resilience.Code
		sent bool
	}{
		{"an archived channel", connectors.Message{Channel: "C00000009", Text: "x"}, resilience.InvalidConfig, true},
		{"a channel the bot is not in", connectors.Message{Channel: "C00000001", Text: "x"}, resilience.PermissionDenied, true},
		{"an unknown channel", connectors.Message{Channel: "#nope", Text: "x"}, resilience.ResourceNotFound, true},
		{"an empty message", connectors.Message{}, resilience.InvalidConfig, false},
		{"a bad thread_ts", connectors.Message{Text: "x", Data: map[string]any{"thread_ts": "yesterday"}}, resilience.InvalidConfig, false},
		{"a channel that is not one", connectors.Message{Channel: "general chat", Text: "x"}, resilience.InvalidConfig, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.count("chat.postMessage")
			_, err := c.Notify(ctxT(t), tc.m)
			checkCode(t, err, tc.want)
			if sent := f.count("chat.postMessage") > before; sent != tc.sent {
				t.Fatalf("sent %v, want %v", sent, tc.sent)
			}
		})
	}
	if warnings, inBody := f.seen(); len(warnings) != 0 || inBody != 0 {
		t.Fatalf("warnings %v (charset), token in %d bodies", warnings, inBody)
	}
	t.Run("no channel at all", func(t *testing.T) {
		t.Parallel()
		bare := newConnector(t, f, setup{secret: botToken})
		_, err := bare.Notify(ctxT(t), connectors.Message{Text: "x"})
		checkCode(t, err, resilience.InvalidConfig)
	})
}

func TestReact(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	f.addChannels(3)
	c := newConnector(t, f, setup{secret: botToken, config: map[string]any{"defaultChannel": "C0RELEASES"}})
	id, err := c.Notify(ctxT(t), connectors.Message{Text: "deployed"})
	checkCode(t, err, "")
	ch, ts, ok := ParseMessageID(id)
	if !ok {
		t.Fatalf("message id %q", id)
	}
	checkCode(t, c.React(ctxT(t), ch, ts, ":white_check_mark:"), "")
	checkCode(t, c.React(ctxT(t), ch, ts, "white_check_mark"), "") // already_reacted is success
	if r := f.channel(ch).messages[0].reactions; !slices.Equal(r, []string{"white_check_mark"}) {
		t.Fatalf("reactions %v", r)
	}
	tests := []struct {
		name, channel, ts, emoji string
		secret                   string
		want                     resilience.Code
		sent                     bool
	}{
		{"an unknown message", ch, "1760000000.999999", "eyes", botToken, resilience.ResourceNotFound, true},
		{"without reactions:write", ch, ts, "eyes", publicToken, resilience.PermissionDenied, true},
		{"a bad ts", ch, "now", "eyes", botToken, resilience.InvalidConfig, false},
		{"a channel name", "#releases", ts, "eyes", botToken, resilience.InvalidConfig, false},
		{"a bad emoji", ch, ts, "two words", botToken, resilience.InvalidConfig, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := newConnector(t, f, setup{secret: tc.secret})
			before := f.count("reactions.add")
			checkCode(t, rc.React(ctxT(t), tc.channel, tc.ts, tc.emoji), tc.want)
			if sent := f.count("reactions.add") > before; sent != tc.sent {
				t.Fatalf("sent %v, want %v", sent, tc.sent)
			}
		})
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		ok     bool
	}{
		{"the documented SlackConfig example", map[string]any{"workspace": "acme", "defaultChannel": "#releases", "iconEmoji": ":rocket:"}, true},
		{"nothing", map[string]any{}, true},
		{"a test URL", map[string]any{"url": "http://127.0.0.1:9/api", "channelTypes": []any{"public_channel", "im"}}, true},
		{"unknown field", map[string]any{"webhookUrl": "https://hooks.slack.com/x"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := Spec.ValidateConfig(tc.config); (err == nil) != tc.ok {
				t.Fatalf("ValidateConfig: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: map[string]any{"channelTypes": []any{"dm"}}}, HTTP: connectortest.HTTP(t, nil, nil)})
	checkCode(t, err, resilience.InvalidConfig)
	if s, ok := connectors.NewRegistry(Spec).Lookup("Slack"); !ok || s.Category != connectors.CategoryNotification {
		t.Fatal("lookup")
	}
}

// TestNotifyUsesTheRulesRenderedBlocks: a rule's Slack template, rendered by
// the notifier into Data[notify.KeySlackBlocks], is what Slack receives.
func TestNotifyUsesTheRulesRenderedBlocks(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	f.addChannels(10)
	c := newConnector(t, f, setup{secret: botToken, config: map[string]any{"defaultChannel": "#releases"}})
	rendered := []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*registry* is unhealthy"}}}
	_, err := c.Notify(ctxT(t), connectors.Message{Title: "ignored title", Text: "fallback", Data: map[string]any{notify.KeySlackBlocks: rendered}})
	checkCode(t, err, "")
	got := f.channel("C0RELEASES").messages[0].blocks
	if len(got) != 1 || got[0]["type"] != "section" || got[0]["text"].(map[string]any)["text"] != "*registry* is unhealthy" {
		t.Fatalf("Slack received blocks %+v, not the rule's", got)
	}
}
