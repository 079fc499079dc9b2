package notifier

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify/slack"
	"github.com/stella-ops/inthub/shared/contracts"
)

const slackToken = "xoxb-1111-2222-notifier-test"

// fakeSlack is the Web API as the notifier uses it, from Slack's reference:
// every method but api.test needs "Authorization: Bearer <bot token>" and
// answers HTTP 200 {"ok":false,"error":"invalid_auth"} otherwise;
// chat.postMessage takes JSON with a channel and text or blocks, refuses a
// thread_ts that is no message of the channel, and answers the channel id
// and the new ts; reactions.add marks a message. Answers can be forced.
type fakeSlack struct {
	srv *httptest.Server

	mu        sync.Mutex
	posts     []slackPost
	reactions []string // "<channel>:<ts>:<name>"
	calls     int
	forced    []forcedAnswer
	clock     int
}

type forcedAnswer struct {
	status int
	header http.Header
	body   string
}

// slackPost is one accepted chat.postMessage.
type slackPost struct {
	Channel, TS, ThreadTS, Text string
	Blocks                      []any
	At                          time.Time
}

var slackChannels = map[string]string{"#alerts": "C0ALERTS01", "C0ALERTS01": "C0ALERTS01"}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) force(status int, header http.Header, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forced = append(f.forced, forcedAnswer{status, header, body})
}

func slackJSON(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if method == "api.test" {
		slackJSON(w, map[string]any{"ok": true})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+slackToken {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if method == "chat.postMessage" {
		f.calls++
		if len(f.forced) > 0 {
			a := f.forced[0]
			f.forced = f.forced[1:]
			for k, v := range a.header {
				w.Header()[k] = v
			}
			w.WriteHeader(a.status)
			_, _ = io.WriteString(w, a.body)
			return
		}
	}
	switch method {
	case "auth.test":
		slackJSON(w, map[string]any{"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "team_id": "T0ACME", "user_id": "U0BOT"})
	case "conversations.list":
		slackJSON(w, map[string]any{"ok": true, "channels": []any{map[string]any{"id": "C0ALERTS01", "name": "alerts"}}, "response_metadata": map[string]any{"next_cursor": ""}})
	case "chat.postMessage":
		f.post(w, r)
	case "reactions.add":
		var body struct{ Channel, Timestamp, Name string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.reactions = append(f.reactions, body.Channel+":"+body.Timestamp+":"+body.Name)
		slackJSON(w, map[string]any{"ok": true})
	default:
		slackJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (f *fakeSlack) post(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	var body struct {
		Channel  string `json:"channel"`
		Text     string `json:"text"`
		Blocks   []any  `json:"blocks"`
		ThreadTS string `json:"thread_ts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_json"})
		return
	}
	id, ok := slackChannels[body.Channel]
	switch {
	case !ok:
		slackJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	case body.Text == "" && len(body.Blocks) == 0:
		slackJSON(w, map[string]any{"ok": false, "error": "no_text"})
		return
	case body.ThreadTS != "" && !f.has(id, body.ThreadTS):
		slackJSON(w, map[string]any{"ok": false, "error": "thread_not_found"})
		return
	}
	f.clock++
	ts := fmt.Sprintf("1712345678.%06d", f.clock)
	f.posts = append(f.posts, slackPost{Channel: id, TS: ts, ThreadTS: body.ThreadTS, Text: body.Text, Blocks: body.Blocks, At: time.Now()})
	slackJSON(w, map[string]any{"ok": true, "channel": id, "ts": ts, "message": map[string]any{"text": body.Text}})
}

func (f *fakeSlack) has(channel, ts string) bool {
	for _, p := range f.posts {
		if p.Channel == channel && p.TS == ts {
			return true
		}
	}
	return false
}

func (f *fakeSlack) accepted() []slackPost {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slackPost(nil), f.posts...)
}

func (f *fakeSlack) postCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeSlack) marks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reactions...)
}

// withSlack adds the Slack provider to the test registry and its token.
func withSlack(c *Config) {
	c.Registry = connectors.NewRegistry(append(registrySpecs(), slack.Spec)...)
}

func TestSlackThreadsRetriesAndDeadLetters(t *testing.T) {
	t.Parallel()
	h := start(t, withSlack)
	f := newFakeSlack(t)
	registry := h.addIntegration(tenantA, "inmemory", map[string]any{}, "", map[string]string{"environment": "production"})
	sl := h.addIntegration(tenantA, "slack", map[string]any{"url": f.srv.URL + "/api"}, "env://INTHUB_SECRET_A_SLACK_TOKEN", nil)
	h.mustCreateRule(tenantA, healthRule("outages to Slack", contracts.NotificationTarget{IntegrationID: sl.ID, Channel: "#alerts"}))

	// The first post is throttled: it is retried after Slack's delay.
	f.force(http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, "")
	start := time.Now()
	seq := h.publishHealth(registry.ID+":changed:3", "", outage(registry, contracts.HealthHealthy, contracts.HealthUnhealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	posts := f.accepted()
	if len(posts) != 1 || f.postCalls() != 2 {
		t.Fatalf("%d posts in %d calls, want 1 in 2", len(posts), f.postCalls())
	}
	if waited := posts[0].At.Sub(start); waited < time.Second {
		t.Errorf("posted %s after the event: the 429's Retry-After of 1s was not honoured", waited)
	}
	if posts[0].ThreadTS != "" || !strings.Contains(posts[0].Text, "Production Registry is unhealthy") {
		t.Errorf("first post %+v", posts[0])
	}
	// The same event again: nothing new.
	seq = h.publishHealth(registry.ID+":changed:3", "again", outage(registry, contracts.HealthHealthy, contracts.HealthUnhealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	if n := len(f.accepted()); n != 1 {
		t.Fatalf("the repeated event posted again: %d posts", n)
	}
	// Degraded, then recovered: follow-ups reply in the outage's thread and
	// the root gets a check mark.
	seq = h.publishHealth(registry.ID+":changed:4", "", outage(registry, contracts.HealthUnhealthy, contracts.HealthDegraded))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	seq = h.publishHealth(registry.ID+":changed:5", "", outage(registry, contracts.HealthDegraded, contracts.HealthHealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	posts = f.accepted()
	if len(posts) != 3 || posts[1].ThreadTS != posts[0].TS || posts[2].ThreadTS != posts[0].TS {
		t.Fatalf("follow-ups not in the thread: %+v", posts)
	}
	if marks := f.marks(); len(marks) != 1 || marks[0] != "C0ALERTS01:"+posts[0].TS+":white_check_mark" {
		t.Errorf("reactions %v", marks)
	}
	// The next outage opens a new thread.
	seq = h.publishHealth(registry.ID+":changed:6", "", outage(registry, contracts.HealthHealthy, contracts.HealthUnhealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	if posts = f.accepted(); len(posts) != 4 || posts[3].ThreadTS != "" {
		t.Fatalf("a new outage did not start a thread: %+v", posts[3])
	}

	// Slack refusing the message (invalid_blocks, or an HTTP 400) is not
	// retried: the event goes to the DLQ with the reason.
	calls := f.postCalls()
	f.force(http.StatusOK, http.Header{"Content-Type": {"application/json"}}, `{"ok":false,"error":"invalid_blocks"}`)
	seq = h.publishHealth(registry.ID+":changed:7", "", outage(registry, contracts.HealthUnhealthy, contracts.HealthDegraded))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	f.force(http.StatusBadRequest, nil, "bad request")
	seq = h.publishHealth(registry.ID+":changed:8", "", outage(registry, contracts.HealthDegraded, contracts.HealthUnhealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	if got := f.postCalls() - calls; got != 2 {
		t.Errorf("%d calls for two refused messages, want 2 (no retry)", got)
	}
	dl := h.deadLetters()
	if len(dl) != 2 || !strings.Contains(dl[0].Header.Get(bus.HeaderDLQReason), "invalid_blocks") ||
		!strings.Contains(dl[1].Header.Get(bus.HeaderDLQReason), "INVALID_CONFIG") || dl[1].Header.Get(bus.HeaderDLQAttempts) != "1" {
		for _, d := range dl {
			t.Logf("dead letter: %v", d.Header)
		}
		t.Fatalf("%d dead letters", len(dl))
	}
}
