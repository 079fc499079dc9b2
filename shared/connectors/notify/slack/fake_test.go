package slack

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// fakeSlack is the part of the Slack Web API the connector uses, as
// docs.slack.dev documents it (apis/web-api: arguments, POST bodies, JSON;
// apis/web-api/rate-limits; reference/methods api.test, auth.test,
// conversations.list, chat.postMessage, reactions.add; reference/block-kit):
//
//   - every method answers HTTP 200 with {"ok":false,"error":...} on
//     failure: not_authed without a token, invalid_auth for an unknown one,
//     token_revoked, missing_scope with needed/provided;
//   - the token comes from Authorization: Bearer or a token argument of a
//     form body (never from a JSON body);
//   - arguments come from the query string and form bodies; JSON bodies
//     only for the write methods that take them (chat.postMessage,
//     reactions.add); JSON without charset=utf-8 draws the missing_charset
//     warning, a form with a charset superfluous_charset;
//   - conversations.list: types (default public_channel; private needs
//     groups:read), limit ≤ 1000 (default 100), exclude_archived applied
//     after the page is cut (so pages run short before the end), opaque
//     next_cursor, invalid_cursor for one it did not issue;
//   - chat.postMessage: channel by id or name, no_text, msg_too_long,
//     invalid_blocks (header plain_text ≤ 150, section ≤ 3000, ≤ 50
//     blocks), is_archived, not_in_channel, channel_not_found;
//   - reactions.add: message_not_found, invalid_name, already_reacted;
//   - rate limits: HTTP 429 with Retry-After and {"ok":false,"error":"ratelimited"}.
//
// It counts calls per method, and can be told to answer a method with an
// error code.
type fakeSlack struct {
	srv *httptest.Server

	mu          sync.Mutex
	tokens      map[string]fakeToken
	channels    []*fakeChannel
	cursors     map[string]int // issued cursor -> offset
	calls       map[string]int
	forced      map[string][]string // method -> error codes of its next answers
	throttles   map[string][]int    // method -> Retry-After of its next answers
	limitAll    int                 // > 0: every method answers 429 with this Retry-After
	warnings    []string
	tokenInBody int
	seq         int
}

type fakeToken struct {
	scopes  []string
	revoked bool
}

type fakeChannel struct {
	id, name                  string
	private, archived, member bool
	messages                  []fakeMessage
}

type fakeMessage struct {
	ts, threadTS, text, icon string
	blocks                   []map[string]any
	reactions                []string
}

// The fake's tokens.
const (
	botToken     = "xoxb-1111-2222-abcdefghijklmnopqrstuvwx"
	publicToken  = "xoxb-1111-3333-publiconlyabcdefghijklmn"
	revokedToken = "xoxb-1111-4444-revokedabcdefghijklmnopq"
	wrongToken   = "xoxb-9999-9999-wrongabcdefghijklmnopqrs"
)

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{
		tokens: map[string]fakeToken{
			botToken:     {scopes: []string{"channels:read", "groups:read", "chat:write", "reactions:write"}},
			publicToken:  {scopes: []string{"channels:read", "chat:write"}},
			revokedToken: {scopes: []string{"channels:read"}, revoked: true},
		},
		cursors: map[string]int{}, calls: map[string]int{}, forced: map[string][]string{}, throttles: map[string][]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// addChannels adds n channels: every tenth archived, every seventh
// private (the bot a member of every other private one), names
// team-NNN, with deploy-NNN every fifth; plus #releases (C0RELEASES).
func (f *fakeSlack) addChannels(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channels = append(f.channels, &fakeChannel{id: "C0RELEASES", name: "releases", member: true})
	for i := range n {
		ch := &fakeChannel{id: fmt.Sprintf("C%08d", i), name: fmt.Sprintf("team-%03d", i), member: i%2 == 0,
			archived: i%10 == 9, private: i%7 == 3}
		if i%5 == 0 {
			ch.name = fmt.Sprintf("deploy-%03d", i)
		}
		f.channels = append(f.channels, ch)
	}
}

func (f *fakeSlack) force(method string, codes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forced[method] = append(f.forced[method], codes...)
}

func (f *fakeSlack) throttle(method string, retryAfter int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles[method] = append(f.throttles[method], retryAfter)
}

// throttleAll makes every following call of every method rate limited.
func (f *fakeSlack) throttleAll(retryAfter int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limitAll = retryAfter
}

func (f *fakeSlack) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeSlack) channel(id string) *fakeChannel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.find(id)
}

func (f *fakeSlack) seen() (warnings []string, tokenInBody int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.warnings), f.tokenInBody
}

// args is a call's arguments and where its token came from.
type args struct {
	values url.Values
	json   map[string]any
	token  string
	warn   []string
}

func (a args) get(name string) string {
	if a.json != nil {
		if s, ok := a.json[name].(string); ok {
			return s
		}
	}
	return a.values.Get(name)
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.calls[method]++
	if q := f.throttles[method]; len(q) > 0 || f.limitAll > 0 {
		retryAfter := f.limitAll
		if len(q) > 0 {
			f.throttles[method], retryAfter = q[1:], q[0]
		}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		answer(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	a, errCode := f.parseArgs(r, method == "chat.postMessage" || method == "reactions.add")
	if errCode != "" {
		answer(w, http.StatusOK, map[string]any{"ok": false, "error": errCode})
		return
	}
	f.warnings = append(f.warnings, a.warn...)
	if q := f.forced[method]; len(q) > 0 {
		f.forced[method] = q[1:]
		answer(w, http.StatusOK, map[string]any{"ok": false, "error": q[0]})
		return
	}
	if method == "api.test" {
		if e := a.get("error"); e != "" {
			answer(w, http.StatusOK, map[string]any{"ok": false, "error": e})
			return
		}
		answer(w, http.StatusOK, map[string]any{"ok": true, "args": map[string]any{}})
		return
	}
	tok, code := f.authenticate(a.token)
	if code != "" {
		answer(w, http.StatusOK, map[string]any{"ok": false, "error": code})
		return
	}
	var out map[string]any
	switch method {
	case "auth.test":
		out = map[string]any{"ok": true, "url": "https://acme-corp.slack.com/", "team": "Acme Corp", "user": "inthub",
			"team_id": "T0ACME", "user_id": "U0BOT", "bot_id": "B0BOT", "is_enterprise_install": false}
	case "conversations.list":
		out = f.list(a, tok)
	case "chat.postMessage":
		out = f.post(a, tok)
	case "reactions.add":
		out = f.react(a, tok)
	default:
		answer(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown_method", "req_method": method})
		return
	}
	if len(a.warn) > 0 {
		out["warning"] = strings.Join(a.warn, ",")
		out["response_metadata"] = mergeMeta(out["response_metadata"], map[string]any{"warnings": a.warn})
	}
	answer(w, http.StatusOK, out)
}

// parseArgs reads the query string and a form or, for methods taking it, a
// JSON body; the token from Authorization: Bearer or a form argument.
func (f *fakeSlack) parseArgs(r *http.Request, takesJSON bool) (args, string) {
	a := args{values: r.URL.Query()}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case len(body) == 0:
	case mt == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return a, "invalid_form_data"
		}
		for k, v := range form {
			a.values[k] = v
		}
		if params["charset"] != "" {
			a.warn = append(a.warn, "superfluous_charset")
		}
	case mt == "application/json" && takesJSON:
		if err := json.Unmarshal(body, &a.json); err != nil {
			return a, "invalid_json"
		}
		if a.json == nil {
			return a, "json_not_object"
		}
		if _, ok := a.json["token"]; ok {
			f.tokenInBody++
		}
		if !strings.EqualFold(params["charset"], "utf-8") {
			a.warn = append(a.warn, "missing_charset")
		}
	case mt == "application/json":
		// Methods without JSON support read no arguments from it.
	default:
		return a, "invalid_post_type"
	}
	if t := a.values.Get("token"); t != "" {
		f.tokenInBody++
		a.token = t
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			a.token = strings.TrimSpace(t)
		}
	}
	return a, ""
}

func (f *fakeSlack) authenticate(token string) (fakeToken, string) {
	if token == "" {
		return fakeToken{}, "not_authed"
	}
	t, ok := f.tokens[token]
	switch {
	case !ok:
		return t, "invalid_auth"
	case t.revoked:
		return t, "token_revoked"
	}
	return t, ""
}

func missingScope(t fakeToken, needed string) map[string]any {
	return map[string]any{"ok": false, "error": "missing_scope", "needed": needed, "provided": strings.Join(t.scopes, ",")}
}

func (f *fakeSlack) list(a args, tok fakeToken) map[string]any {
	types := strings.Split(a.get("types"), ",")
	if a.get("types") == "" {
		types = []string{"public_channel"}
	}
	for _, ty := range types {
		switch ty {
		case "public_channel":
			if !slices.Contains(tok.scopes, "channels:read") {
				return missingScope(tok, "channels:read")
			}
		case "private_channel":
			if !slices.Contains(tok.scopes, "groups:read") {
				return missingScope(tok, "groups:read")
			}
		case "mpim", "im":
		default:
			return map[string]any{"ok": false, "error": "invalid_types"}
		}
	}
	limit := 100
	if s := a.get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return map[string]any{"ok": false, "error": "invalid_limit"}
		}
		limit = n
	}
	start := 0
	if c := a.get("cursor"); c != "" {
		off, ok := f.cursors[c]
		if !ok {
			return map[string]any{"ok": false, "error": "invalid_cursor"}
		}
		start = off
	}
	var visible []*fakeChannel
	for _, ch := range f.channels {
		if (ch.private && slices.Contains(types, "private_channel") && ch.member) || (!ch.private && slices.Contains(types, "public_channel")) {
			visible = append(visible, ch)
		}
	}
	end := min(start+limit, len(visible))
	out := []any{}
	for _, ch := range visible[min(start, end):end] {
		if ch.archived && a.get("exclude_archived") == "true" {
			continue // filtered after the page is cut: the page runs short
		}
		out = append(out, map[string]any{"id": ch.id, "name": ch.name, "is_channel": true, "is_private": ch.private,
			"is_archived": ch.archived, "is_member": ch.member, "num_members": 3,
			"topic": map[string]any{"value": "topic of " + ch.name}, "purpose": map[string]any{"value": ""}})
	}
	next := ""
	if end < len(visible) {
		next = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("dGVhbTpD%d", end)))
		f.cursors[next] = end
	}
	return map[string]any{"ok": true, "channels": out, "response_metadata": map[string]any{"next_cursor": next}}
}

func (f *fakeSlack) find(idOrName string) *fakeChannel {
	name := strings.TrimPrefix(idOrName, "#")
	for _, ch := range f.channels {
		if ch.id == idOrName || ch.name == name {
			return ch
		}
	}
	return nil
}

func (f *fakeSlack) post(a args, tok fakeToken) map[string]any {
	if !slices.Contains(tok.scopes, "chat:write") {
		return missingScope(tok, "chat:write")
	}
	ch := f.find(a.get("channel"))
	switch {
	case ch == nil || (ch.private && !ch.member):
		return map[string]any{"ok": false, "error": "channel_not_found"}
	case ch.archived:
		return map[string]any{"ok": false, "error": "is_archived"}
	case !ch.member:
		return map[string]any{"ok": false, "error": "not_in_channel"}
	}
	text := a.get("text")
	var blocks []map[string]any
	if raw, ok := a.json["blocks"]; ok {
		b, _ := json.Marshal(raw)
		if json.Unmarshal(b, &blocks) != nil {
			return map[string]any{"ok": false, "error": "invalid_blocks_format"}
		}
		if msg := checkBlocks(blocks); msg != "" {
			return map[string]any{"ok": false, "error": "invalid_blocks", "errors": []string{msg}}
		}
	}
	switch {
	case text == "" && len(blocks) == 0:
		return map[string]any{"ok": false, "error": "no_text"}
	case utf8.RuneCountInString(text) > 40000:
		return map[string]any{"ok": false, "error": "msg_too_long"}
	}
	f.seq++
	m := fakeMessage{ts: fmt.Sprintf("1760000000.%06d", f.seq), threadTS: a.get("thread_ts"), text: text, icon: a.get("icon_emoji"), blocks: blocks}
	ch.messages = append(ch.messages, m)
	return map[string]any{"ok": true, "channel": ch.id, "ts": m.ts, "message": map[string]any{"type": "message", "text": text, "ts": m.ts}}
}

// checkBlocks applies Block Kit's limits to the block types the connector
// sends; "" when they hold.
func checkBlocks(blocks []map[string]any) string {
	if len(blocks) > 50 {
		return "no more than 50 items allowed [json-pointer:/blocks]"
	}
	for i, b := range blocks {
		text, _ := b["text"].(map[string]any)
		s, _ := text["text"].(string)
		switch b["type"] {
		case "header":
			if text["type"] != "plain_text" || s == "" || utf8.RuneCountInString(s) > 150 {
				return fmt.Sprintf("must be plain_text of at most 150 characters [json-pointer:/blocks/%d/text]", i)
			}
		case "section":
			if (text["type"] != "mrkdwn" && text["type"] != "plain_text") || s == "" || utf8.RuneCountInString(s) > 3000 {
				return fmt.Sprintf("must be at most 3000 characters [json-pointer:/blocks/%d/text]", i)
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				return fmt.Sprintf("must hold 1 to 10 elements [json-pointer:/blocks/%d/elements]", i)
			}
		case "divider":
		default:
			return fmt.Sprintf("unsupported type [json-pointer:/blocks/%d/type]", i)
		}
	}
	return ""
}

func (f *fakeSlack) react(a args, tok fakeToken) map[string]any {
	if !slices.Contains(tok.scopes, "reactions:write") {
		return missingScope(tok, "reactions:write")
	}
	ch := f.find(a.get("channel"))
	if ch == nil {
		return map[string]any{"ok": false, "error": "channel_not_found"}
	}
	name := a.get("name")
	if name == "" || strings.ContainsAny(name, ": ") {
		return map[string]any{"ok": false, "error": "invalid_name"}
	}
	for i := range ch.messages {
		if ch.messages[i].ts != a.get("timestamp") {
			continue
		}
		if slices.Contains(ch.messages[i].reactions, name) {
			return map[string]any{"ok": false, "error": "already_reacted"}
		}
		ch.messages[i].reactions = append(ch.messages[i].reactions, name)
		return map[string]any{"ok": true}
	}
	return map[string]any{"ok": false, "error": "message_not_found"}
}

func mergeMeta(meta any, extra map[string]any) map[string]any {
	m, _ := meta.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// TestFakeRejectsWhatSlackRejects sends the fake requests Slack refuses.
func TestFakeRejectsWhatSlackRejects(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	f.addChannels(150)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, contentType, auth, body string
		status                                int
		want                                  string
	}{
		{"no token", "auth.test", form, "", "", 200, `"error":"not_authed"`},
		{"Basic credentials", "auth.test", form, "Basic " + botToken, "", 200, `"error":"not_authed"`},
		{"an unknown token", "auth.test", form, "Bearer " + wrongToken, "", 200, `"error":"invalid_auth"`},
		{"the token in a JSON body", "chat.postMessage", "application/json; charset=utf-8", "",
			`{"token":"` + botToken + `","channel":"C0RELEASES","text":"x"}`, 200, `"error":"not_authed"`},
		{"JSON arguments to conversations.list are not read", "conversations.list", "application/json; charset=utf-8", "Bearer " + botToken,
			`{"limit":5}`, 200, `"next_cursor":"` + base64.StdEncoding.EncodeToString([]byte("dGVhbTpD100")) + `"`},
		{"limit over 1000", "conversations.list", form, "Bearer " + botToken, "limit=1001", 200, `"error":"invalid_limit"`},
		{"a cursor Slack did not issue", "conversations.list", form, "Bearer " + botToken, "cursor=abc", 200, `"error":"invalid_cursor"`},
		{"a header over 150 characters", "chat.postMessage", "application/json; charset=utf-8", "Bearer " + botToken,
			`{"channel":"C0RELEASES","blocks":[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("x", 151) + `"}}]}`, 200, `"error":"invalid_blocks"`},
		{"JSON without charset is warned about", "chat.postMessage", "application/json", "Bearer " + botToken,
			`{"channel":"C0RELEASES","text":"x"}`, 200, `"warning":"missing_charset"`},
		{"an XML body", "chat.postMessage", "text/xml", "Bearer " + botToken, "<x/>", 200, `"error":"invalid_post_type"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest("POST", f.srv.URL+"/api/"+tc.method, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("HTTP %d %s, want %d with %s", resp.StatusCode, b, tc.status, tc.want)
			}
		})
	}
}
