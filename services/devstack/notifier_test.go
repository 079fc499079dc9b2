package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/connectors/notify/email/smtptest"
	"github.com/stella-ops/inthub/shared/connectors/notify/opsgenie/opsgeniefake"
	"github.com/stella-ops/inthub/shared/connectors/notify/pagerduty/pagerdutyfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
)

const (
	e2eSlackToken = "xoxb-2222-3333-devstack-e2e"
	e2eRoutingKey = "P0123456789abcdef0123456789abcde"
	e2eGenieKey   = "0b6c1a9e-3f1d-4c2b-9a8e-7d6f5e4c3b2a"
	e2eSMTPUser   = "release-bot"
	e2eSMTPPass   = "smtp-pass-e2e"
)

// slackAPI is a fake Slack Web API written from Slack's reference: every
// method but api.test needs the bot token (HTTP 200 {"ok":false,
// "error":"invalid_auth"} otherwise); chat.postMessage takes JSON with a
// known channel and text or blocks, refuses a thread_ts that is no message
// of the channel, and answers the channel id and the new ts.
type slackAPI struct {
	srv *httptest.Server

	mu      sync.Mutex
	posts   []slackMessage
	refused []string
	next    int
}

type slackMessage struct {
	Channel, TS, ThreadTS, Text string
}

func newSlackAPI(t *testing.T) *slackAPI {
	s := &slackAPI{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slackAPI) reply(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *slackAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if method == "api.test" {
		s.reply(w, map[string]any{"ok": true})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+e2eSlackToken {
		s.refused = append(s.refused, method+": invalid_auth")
		s.reply(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch method {
	case "auth.test":
		s.reply(w, map[string]any{"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "team_id": "T0ACME", "user_id": "U0BOT"})
	case "conversations.list":
		s.reply(w, map[string]any{"ok": true, "channels": []any{map[string]any{"id": "C0ALERTS01", "name": "alerts"}}, "response_metadata": map[string]any{"next_cursor": ""}})
	case "reactions.add":
		s.reply(w, map[string]any{"ok": true})
	case "chat.postMessage":
		var body struct {
			Channel  string `json:"channel"`
			Text     string `json:"text"`
			Blocks   []any  `json:"blocks"`
			ThreadTS string `json:"thread_ts"`
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
			s.refused = append(s.refused, "chat.postMessage: invalid_json")
			s.reply(w, map[string]any{"ok": false, "error": "invalid_json"})
			return
		}
		if body.Channel != "#alerts" && body.Channel != "C0ALERTS01" {
			s.refused = append(s.refused, "chat.postMessage: channel_not_found "+body.Channel)
			s.reply(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		if body.Text == "" && len(body.Blocks) == 0 {
			s.reply(w, map[string]any{"ok": false, "error": "no_text"})
			return
		}
		if body.ThreadTS != "" && !s.has(body.ThreadTS) {
			s.reply(w, map[string]any{"ok": false, "error": "thread_not_found"})
			return
		}
		s.next++
		ts := fmt.Sprintf("1712345678.%06d", s.next)
		s.posts = append(s.posts, slackMessage{Channel: "C0ALERTS01", TS: ts, ThreadTS: body.ThreadTS, Text: body.Text})
		s.reply(w, map[string]any{"ok": true, "channel": "C0ALERTS01", "ts": ts})
	default:
		s.reply(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (s *slackAPI) has(ts string) bool {
	for _, p := range s.posts {
		if p.TS == ts {
			return true
		}
	}
	return false
}

func (s *slackAPI) messages() []slackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slackMessage(nil), s.posts...)
}

// writeSecret writes a secret file into dir (made if missing) and returns
// its file:// reference.
func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}

// startNotifyStack is a devstack whose health checks run every few hundred
// milliseconds and whose outbound policy allows the loopback fakes.
func startNotifyStack(t *testing.T) *stack {
	t.Helper()
	local, secrets := localSecrets(t, nil)
	info := runStack(t, devstack.Config{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
		Policy:      httpx.GuardPolicy{AllowPrivate: true},
		Local:       &local,
		Intervals:   healthscheduler.Intervals{Connectivity: 300 * time.Millisecond, Authentication: 400 * time.Millisecond, Functionality: 500 * time.Millisecond},
		ExtraTokens: []ingress.TokenEntry{{Principal: ingress.Principal{Name: "b", TenantID: tenantB}, SHA256: ingress.HashToken(tokenB)}},
	})
	nc := natsConn(t, info)
	js, _ := jetstream.New(nc)
	return &stack{t: t, base: "http://" + info.HTTPAddr, info: info, js: js, secrets: secrets}
}

// quiet keeps the health checks of a notification integration slow, so the
// fakes see the notifications, not probes.
var quiet = map[string]any{"connectivityCheckSeconds": 3600, "authenticationCheckSeconds": 3600, "functionalityCheckSeconds": 3600}

func withQuiet(cfg map[string]any) map[string]any {
	for k, v := range quiet {
		cfg[k] = v
	}
	return cfg
}

// eventually polls cond for up to 20 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestNotificationsOfAnOutageEndToEnd(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t)
	pd := pagerdutyfake.New(t, e2eRoutingKey, "")
	og := opsgeniefake.New(t, e2eGenieKey)
	smtp := smtptest.Start(t, smtptest.Options{Username: e2eSMTPUser, Password: e2eSMTPPass})
	s := startNotifyStack(t)
	secrets, secretsOfB := filepath.Join(s.secrets, "dev"), filepath.Join(s.secrets, "b")
	tok := s.info.Token

	create := func(token string, body map[string]any) contracts.Integration {
		t.Helper()
		r := s.call("POST", "/api/v1/integrations", token, body)
		if r.status != http.StatusCreated {
			t.Fatalf("create %v: %d %s", body["typeId"], r.status, r.body)
		}
		var it contracts.Integration
		r.decode(&it)
		return it
	}
	registry := create(tok, map[string]any{"typeId": "inmemory", "name": "Production Registry", "config": map[string]any{},
		"labels": map[string]string{"environment": "production"}})
	slackIt := create(tok, map[string]any{"typeId": "slack", "name": "Acme Slack",
		"config": withQuiet(map[string]any{"url": slack.srv.URL + "/api"}), "credentialRef": writeSecret(t, secrets, "slack-token", e2eSlackToken)})
	pdIt := create(tok, map[string]any{"typeId": "pagerduty", "name": "On-call",
		"config": withQuiet(map[string]any{"routingKeyRef": writeSecret(t, secrets, "pd-routing-key", e2eRoutingKey), "eventsUrl": pd.URL})})
	ogIt := create(tok, map[string]any{"typeId": "opsgenie", "name": "OpsGenie",
		"config": withQuiet(map[string]any{"url": og.URL}), "credentialRef": writeSecret(t, secrets, "genie-key", e2eGenieKey)})
	mailIt := create(tok, map[string]any{"typeId": "email", "name": "On-call mail",
		"config": withQuiet(map[string]any{"host": smtp.Host, "port": smtp.Port, "from": "Release Bot <bot@inthub.test>",
			"to": []string{"oncall@inthub.test"}, "caCert": smtp.CAPEM}),
		"credentialRef": writeSecret(t, secrets, "smtp", fmt.Sprintf(`{"username":%q,"password":%q}`, e2eSMTPUser, e2eSMTPPass))})
	foreign := create(tokenB, map[string]any{"typeId": "pagerduty", "name": "B's pager",
		"config": withQuiet(map[string]any{"routingKeyRef": writeSecret(t, secretsOfB, "pd-b", e2eRoutingKey), "eventsUrl": pd.URL})})

	rule := map[string]any{
		"name": "production outages",
		"match": map[string]any{"eventTypes": []string{"integration.health.changed"}, "severities": []string{"critical", "warning"},
			"labelSelector": "environment=production"},
		"targets": []map[string]any{
			{"integrationId": slackIt.ID, "channel": "#alerts"}, {"integrationId": pdIt.ID}, {"integrationId": ogIt.ID}, {"integrationId": mailIt.ID},
		},
		"template": map[string]any{"title": "{{.Event.Title}} [{{.Integration.Labels.environment}}]"},
	}
	// The notifier may still be starting: wait for its endpoints.
	var r response
	eventually(t, "the notification-rules endpoint", func() bool {
		r = s.call("GET", "/api/v1/notification-rules", tok, nil)
		return r.status != http.StatusServiceUnavailable
	})

	// Refused rules store nothing.
	refused := []struct {
		name string
		mut  func(m map[string]any)
		code string
	}{
		{"broken template", func(m map[string]any) {
			m["template"] = map[string]any{"slack": `[{"type":"section","text":"{{.Event.Title}"}]`}
		}, "INVALID_TEMPLATE"},
		{"unknown integration", func(m map[string]any) {
			m["targets"] = []map[string]any{{"integrationId": "11111111-2222-4333-8444-555555555555"}}
		}, "INVALID_TARGET"},
		{"another tenant's integration", func(m map[string]any) { m["targets"] = []map[string]any{{"integrationId": foreign.ID}} }, "INVALID_TARGET"},
	}
	for _, tc := range refused {
		body := map[string]any{}
		for k, v := range rule {
			body[k] = v
		}
		tc.mut(body)
		if r := s.call("POST", "/api/v1/notification-rules", tok, body); r.status != http.StatusBadRequest || r.code() != tc.code {
			t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	var list contracts.NotificationRuleList
	s.call("GET", "/api/v1/notification-rules", tok, nil).decode(&list)
	if len(list.Items) != 0 {
		t.Fatalf("refused rules were stored: %+v", list.Items)
	}
	r = s.call("POST", "/api/v1/notification-rules", tok, rule)
	if r.status != http.StatusCreated || r.header.Get("ETag") == "" || !strings.HasPrefix(r.header.Get("Location"), "/api/v1/notification-rules/") {
		t.Fatalf("create rule: %d %s", r.status, r.body)
	}
	var stored contracts.NotificationRule
	r.decode(&stored)
	if r := s.call("GET", "/api/v1/notification-rules/"+stored.ID, tokenB, nil); r.status != http.StatusNotFound || r.code() != "NOTIFICATION_RULE_NOT_FOUND" {
		t.Fatalf("another tenant reads the rule: %d %s", r.status, r.body)
	}
	// Replace under If-Match: a stale ETag is refused, the current one taken.
	etag := r.header.Get("ETag")
	rule["name"] = "production outages (all channels)"
	if r := s.call("PUT", "/api/v1/notification-rules/"+stored.ID, tok, rule, "If-Match", `"999"`); r.status != http.StatusPreconditionFailed {
		t.Fatalf("stale PUT: %d %s", r.status, r.body)
	}
	if r = s.call("PUT", "/api/v1/notification-rules/"+stored.ID, tok, rule, "If-Match", etag); r.status != http.StatusOK || r.header.Get("ETag") == etag {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if r := s.call("DELETE", "/api/v1/notification-rules/"+stored.ID, tokenB, nil); r.status != http.StatusNotFound {
		t.Fatalf("another tenant deletes the rule: %d %s", r.status, r.body)
	}

	health := func() contracts.HealthStatus {
		var it contracts.Integration
		s.call("GET", "/api/v1/integrations/"+registry.ID, tok, nil).decode(&it)
		return it.HealthStatus
	}
	eventually(t, "the registry to be healthy", func() bool { return health() == contracts.HealthHealthy })
	// Give the notifier's rule view a moment beyond the API's answer.
	time.Sleep(200 * time.Millisecond)

	// The outage.
	if r := s.call("PATCH", "/api/v1/integrations/"+registry.ID, tok, `{"config":{"failureMode":"connection-refused"}}`); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	dedup := devstack.DevTenantID + ":" + registry.ID
	eventually(t, "the outage's notifications", func() bool {
		_, alert := og.Alert(dedup)
		return len(slack.messages()) >= 1 && pd.Count("trigger", dedup) >= 1 && len(smtp.Messages()) >= 1 && alert
	})
	time.Sleep(time.Second) // time enough for a duplicate to show
	posts := slack.messages()
	if len(posts) != 1 || pd.Count("trigger", dedup) != 1 || len(smtp.Messages()) != 1 || og.Calls("create") != 1 {
		t.Fatalf("want one of each: %d Slack messages, %d PagerDuty triggers, %d emails, %d OpsGenie alerts",
			len(posts), pd.Count("trigger", dedup), len(smtp.Messages()), og.Calls("create"))
	}
	if !strings.Contains(posts[0].Text, "Production Registry is unhealthy [production]") || posts[0].ThreadTS != "" {
		t.Errorf("Slack message %+v", posts[0])
	}
	if a, _ := pd.Alert(dedup); a.Status != "triggered" || a.Severity != "critical" {
		t.Errorf("PagerDuty alert %+v", a)
	}
	m, err := mail.ReadMessage(bytes.NewReader(smtp.Messages()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); subject != "Production Registry is unhealthy [production]" {
		t.Errorf("email subject %q", subject)
	}
	if msg := smtp.Messages()[0]; !msg.TLS || msg.User != e2eSMTPUser || msg.To[0] != "oncall@inthub.test" {
		t.Errorf("email envelope %+v", msg)
	}

	// Healthy again: resolved, closed, and the Slack follow-up in the thread.
	if r := s.call("PATCH", "/api/v1/integrations/"+registry.ID, tok, `{"config":{"failureMode":"none"}}`); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	eventually(t, "the recovery's notifications", func() bool {
		a, _ := pd.Alert(dedup)
		og, _ := og.Alert(dedup)
		return a.Status == "resolved" && og.Status == "closed" && len(slack.messages()) >= 2
	})
	posts = slack.messages()
	if len(posts) != 2 || posts[1].ThreadTS != posts[0].TS {
		t.Fatalf("the recovery did not reply in the outage's thread: %+v", posts)
	}
	if pd.Count("trigger", dedup) != 1 || pd.Count("resolve", dedup) != 1 {
		t.Errorf("PagerDuty: %d triggers, %d resolves", pd.Count("trigger", dedup), pd.Count("resolve", dedup))
	}
	if len(slack.refused) > 0 || pd.Rejected() > 0 || og.Calls("invalid")+og.Calls("unauthorized") > 0 {
		t.Errorf("fakes refused calls: slack %v, PagerDuty %d, OpsGenie %d", slack.refused, pd.Rejected(), og.Calls("invalid")+og.Calls("unauthorized"))
	}
	// Every delivery was announced.
	var sent contracts.NotificationOutcome
	st, err := s.js.Stream(context.Background(), "INTHUB_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.GetLastMsgForSubject(context.Background(), contracts.Subject(contracts.SubjectNotificationSent, devstack.DevTenantID, pdIt.ID))
	if err != nil || json.Unmarshal(msg.Data, &sent) != nil || sent.ProviderMessageID != dedup {
		t.Errorf("notification.sent of PagerDuty: %v %+v", err, sent)
	}
	if r := s.call("DELETE", "/api/v1/notification-rules/"+stored.ID, tok, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := s.call("GET", "/api/v1/notification-rules/"+stored.ID, tok, nil); r.status != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d %s", r.status, r.body)
	}
}
