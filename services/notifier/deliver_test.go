package notifier

import (
	"github.com/google/uuid"

	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors/notify/email/smtptest"
	"github.com/stella-ops/inthub/shared/connectors/notify/opsgenie/opsgeniefake"
	"github.com/stella-ops/inthub/shared/connectors/notify/pagerduty/pagerdutyfake"
	"github.com/stella-ops/inthub/shared/contracts"
)

// outage is a health transition of integration it.
func outage(it contracts.Integration, from, to contracts.HealthStatus) contracts.HealthChanged {
	return contracts.HealthChanged{
		TenantID: it.TenantID, IntegrationID: it.ID, TypeID: it.TypeID, Name: "Production Registry", Labels: it.Labels,
		Previous: from, Current: to, Reason: "dial tcp 10.0.0.7:443: connection refused", ErrorCode: "CONNECTION_REFUSED",
		ChangedAt: time.Now().UTC(),
	}
}

// incidentSetup is a tenant with a production registry and a rule sending
// its outages to PagerDuty, OpsGenie and email.
type incidentSetup struct {
	h        *harness
	pd       *pagerdutyfake.Server
	og       *opsgeniefake.Server
	smtp     *smtptest.Server
	registry contracts.Integration
	rule     contracts.NotificationRule
}

func newIncidentSetup(t *testing.T) *incidentSetup {
	h := start(t, nil)
	s := &incidentSetup{h: h, pd: pagerdutyfake.New(t, pdRoutingKey, ""), og: opsgeniefake.New(t, ogKey),
		smtp: smtptest.Start(t, smtptest.Options{Username: smtpUser, Password: smtpPassword})}
	s.registry = h.addIntegration(tenantA, "inmemory", map[string]any{}, "", map[string]string{"environment": "production"})
	pdIt := h.addIntegration(tenantA, "pagerduty", map[string]any{"routingKeyRef": "env://INTHUB_SECRET_A_PD_ROUTING_KEY", "eventsUrl": s.pd.URL}, "", nil)
	ogIt := h.addIntegration(tenantA, "opsgenie", map[string]any{"url": s.og.URL}, "env://INTHUB_SECRET_A_OG_KEY", nil)
	mailIt := h.addIntegration(tenantA, "email", map[string]any{
		"host": s.smtp.Host, "port": s.smtp.Port, "from": "Release Bot <bot@inthub.test>", "to": []any{"oncall@inthub.test"}, "caCert": s.smtp.CAPEM,
	}, "env://INTHUB_SECRET_A_SMTP_CREDS", nil)
	s.rule = h.mustCreateRule(tenantA, healthRule("production outages",
		contracts.NotificationTarget{IntegrationID: pdIt.ID}, contracts.NotificationTarget{IntegrationID: ogIt.ID},
		contracts.NotificationTarget{IntegrationID: mailIt.ID}))
	return s
}

func parseMail(t *testing.T, raw []byte) (mail.Header, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	mr := multipart.NewReader(m.Body, params["boundary"])
	var text string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p)
			text = string(b)
		}
	}
	return m.Header, text
}

func TestOutageTriggersOnceAndRecoveryResolves(t *testing.T) {
	t.Parallel()
	s := newIncidentSetup(t)
	h := s.h
	dedup := tenantA + ":" + s.registry.ID

	down := outage(s.registry, contracts.HealthHealthy, contracts.HealthUnhealthy)
	seq := h.publishHealth(s.registry.ID+":changed:5", "", down)
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	if n := s.pd.Count("trigger", dedup); n != 1 {
		t.Fatalf("PagerDuty triggers %d, want 1", n)
	}
	if a, _ := s.og.Alert(dedup); a.Status != "open" || a.Priority != "P1" {
		t.Fatalf("OpsGenie alert %+v", a)
	}
	msgs := s.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want 1", len(msgs))
	}
	first, text := parseMail(t, msgs[0].Data)
	if !strings.Contains(text, "connection refused") || !strings.Contains(first.Get("Subject"), "Production Registry is unhealthy") {
		t.Errorf("email %v: %q", first, text)
	}

	// The same event again, past the bus's dedupe window (another
	// Nats-Msg-Id, the same event id): nothing is sent twice.
	seq = h.publishHealth(s.registry.ID+":changed:5", "redelivered-by-hand", down)
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	if s.pd.Count("trigger", dedup) != 1 || s.og.Calls("create") != 1 || len(s.smtp.Messages()) != 1 {
		t.Fatalf("a repeated event sent again: PD %d, OpsGenie %d, email %d", s.pd.Count("trigger", dedup), s.og.Calls("create"), len(s.smtp.Messages()))
	}

	// Back to healthy: resolve, close, and a follow-up in the email thread.
	up := outage(s.registry, contracts.HealthUnhealthy, contracts.HealthHealthy)
	seq = h.publishHealth(s.registry.ID+":changed:6", "", up)
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	if a, _ := s.pd.Alert(dedup); a.Status != "resolved" || s.pd.Count("resolve", dedup) != 1 {
		t.Fatalf("PagerDuty alert %+v, resolves %d", a, s.pd.Count("resolve", dedup))
	}
	if a, _ := s.og.Alert(dedup); a.Status != "closed" {
		t.Fatalf("OpsGenie alert %+v", a)
	}
	msgs = s.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d emails, want 2", len(msgs))
	}
	follow, _ := parseMail(t, msgs[1].Data)
	if follow.Get("In-Reply-To") != first.Get("Message-Id") {
		t.Errorf("recovery email not in the outage's thread: In-Reply-To %q, first %q", follow.Get("In-Reply-To"), first.Get("Message-Id"))
	}

	// A first status of a new integration (unknown to healthy) is no alert.
	seq = h.publishHealth(s.registry.ID+":changed:1", "", outage(s.registry, contracts.HealthUnknown, contracts.HealthHealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	// Neither is an outage of an integration the selector does not take.
	staging := h.addIntegration(tenantA, "inmemory", map[string]any{}, "", map[string]string{"environment": "staging"})
	seq = h.publishHealth(staging.ID+":changed:2", "", outage(staging, contracts.HealthHealthy, contracts.HealthUnhealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	if len(s.pd.Events()) != 2 || len(s.smtp.Messages()) != 2 {
		t.Errorf("unmatched events were sent: %d PagerDuty events, %d emails", len(s.pd.Events()), len(s.smtp.Messages()))
	}
}

func TestOutcomesArePublished(t *testing.T) {
	t.Parallel()
	s := newIncidentSetup(t)
	out := s.h.watchOutcomes()
	s.h.publishHealth(s.registry.ID+":changed:9", "", outage(s.registry, contracts.HealthHealthy, contracts.HealthUnhealthy))
	got := map[string]contracts.NotificationOutcome{}
	for range 3 {
		prefix, o := out.next(t)
		if prefix != contracts.SubjectNotificationSent || o.RequestID != s.registry.ID+":changed:9" || o.ProviderMessageID == "" {
			t.Fatalf("outcome %s %+v", prefix, o)
		}
		got[o.IntegrationID] = o
	}
	if len(got) != 3 {
		t.Fatalf("outcomes for %d integrations, want 3", len(got))
	}
}

func TestRateLimitedIsRetriedAfterItsDelay(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	pd := pagerdutyfake.New(t, pdRoutingKey, "")
	pdIt := h.addIntegration(tenantA, "pagerduty", map[string]any{"routingKeyRef": "env://INTHUB_SECRET_A_PD_ROUTING_KEY", "eventsUrl": pd.URL}, "", nil)
	pd.Force(http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, `{"status":"throttle event","message":"Requests for this service are arriving too quickly. Please retry later."}`)
	out := h.watchOutcomes()
	start := time.Now()
	h.request(contracts.NotificationSendRequested{RequestID: "req-429", TenantID: tenantA, IntegrationID: pdIt.ID,
		Severity: "critical", Title: "Release v1.2.3 failed its canary", ThreadKey: "release-v1.2.3"})
	prefix, o := out.next(t)
	elapsed := time.Since(start)
	if prefix != contracts.SubjectNotificationSent || o.ProviderMessageID != tenantA+":release-v1.2.3" {
		t.Fatalf("outcome %s %+v", prefix, o)
	}
	if elapsed < time.Second {
		t.Errorf("sent after %s: the 429's Retry-After of 1s was not honoured", elapsed)
	}
	if pd.Calls() != 2 || pd.Count("trigger", "") != 1 {
		t.Errorf("PagerDuty saw %d calls and %d triggers, want 2 and 1", pd.Calls(), pd.Count("trigger", ""))
	}
	if dl := h.deadLetters(); len(dl) != 0 {
		t.Errorf("%d dead letters", len(dl))
	}
}

func TestInvalidRequestGoesToTheDLQWithoutRetry(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	pd := pagerdutyfake.New(t, pdRoutingKey, "")
	pdIt := h.addIntegration(tenantA, "pagerduty", map[string]any{"routingKeyRef": "env://INTHUB_SECRET_A_PD_ROUTING_KEY", "eventsUrl": pd.URL}, "", nil)
	pd.Force(http.StatusBadRequest, http.Header{"Content-Type": {"application/json"}},
		`{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank"]}`)
	out := h.watchOutcomes()
	seq := h.request(contracts.NotificationSendRequested{RequestID: "req-400", TenantID: tenantA, IntegrationID: pdIt.ID, Severity: "error", Title: "x"})
	prefix, o := out.next(t)
	if prefix != contracts.SubjectNotificationFailed || o.Error == nil || o.Error.Code != "INVALID_CONFIG" || !strings.Contains(o.Error.Message, "payload.summary") {
		t.Fatalf("outcome %s %+v", prefix, o)
	}
	h.waitConsumed(bus.StreamCommands, durableRequests, seq)
	if pd.Calls() != 1 {
		t.Errorf("PagerDuty saw %d calls, want 1 (no retry)", pd.Calls())
	}
	dl := h.deadLetters()
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	reason := dl[0].Header.Get(bus.HeaderDLQReason)
	if !strings.Contains(reason, "INVALID_CONFIG") || !strings.Contains(reason, "payload.summary") || dl[0].Header.Get(bus.HeaderDLQAttempts) != "1" {
		t.Errorf("dead letter headers %v", dl[0].Header)
	}
}

// TestFailingProviderIsRedeliveredThenDeadLettered: a provider that keeps
// failing with a retryable error is retried inside each delivery as the
// integration's "retries" field says (retries+1 attempts), redelivered up
// to the bus's limit, then dead-lettered.
func TestFailingProviderIsRedeliveredThenDeadLettered(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		retries float64
		// calls is 3 deliveries × (retries+1) attempts.
		calls int
	}{
		{name: "retries 0 tries once per delivery", retries: 0, calls: 3},
		{name: "retries 2 tries three times per delivery", retries: 2, calls: 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil)
			pd := pagerdutyfake.New(t, pdRoutingKey, "")
			pdIt := h.addIntegration(tenantA, "pagerduty", map[string]any{
				"routingKeyRef": "env://INTHUB_SECRET_A_PD_ROUTING_KEY", "eventsUrl": pd.URL, "retries": tc.retries,
			}, "", nil)
			for range 20 {
				pd.Force(http.StatusServiceUnavailable, nil, "")
			}
			out := h.watchOutcomes()
			seq := h.request(contracts.NotificationSendRequested{RequestID: "req-503", TenantID: tenantA, IntegrationID: pdIt.ID, Severity: "error", Title: "x"})
			prefix, o := out.next(t)
			if prefix != contracts.SubjectNotificationFailed || o.Error.Code != "UPSTREAM_ERROR" {
				t.Fatalf("outcome %s %+v", prefix, o)
			}
			h.waitConsumed(bus.StreamCommands, durableRequests, seq)
			dl := h.deadLetters()
			if len(dl) != 1 || dl[0].Header.Get(bus.HeaderDLQAttempts) != "3" || !strings.Contains(dl[0].Header.Get(bus.HeaderDLQReason), "UPSTREAM_ERROR") {
				t.Fatalf("dead letters %+v", dl)
			}
			if pd.Calls() != tc.calls {
				t.Errorf("PagerDuty saw %d calls, want %d", pd.Calls(), tc.calls)
			}
		})
	}
}

func TestRequestThroughARuleWithTemplatesAndAttachments(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	smtp := smtptest.Start(t, smtptest.Options{Username: smtpUser, Password: smtpPassword})
	mailIt := h.addIntegration(tenantA, "email", map[string]any{
		"host": smtp.Host, "port": smtp.Port, "from": "bot@inthub.test", "to": []any{"oncall@inthub.test"}, "caCert": smtp.CAPEM,
	}, "env://INTHUB_SECRET_A_SMTP_CREDS", nil)
	rule := h.mustCreateRule(tenantA, contracts.NotificationRuleInput{
		Name:    "releases",
		Match:   contracts.NotificationMatch{EventTypes: []string{contracts.SubjectNotificationRequest}, LabelSelector: "team=platform"},
		Targets: []contracts.NotificationTarget{{IntegrationID: mailIt.ID, Channel: "releases@inthub.test"}},
		Template: &contracts.NotificationTemplate{
			Title: `Release {{.Data.release}}: {{.Event.Title}}`,
			HTML:  `<h1>{{.Data.release}}</h1><p>{{.Event.Text}}</p>`,
		},
	})
	report := []byte("canary report: all green")
	seq := h.request(contracts.NotificationSendRequested{
		RequestID: "req-rel-1", TenantID: tenantA, Severity: "info", Title: "promoted", Body: "<script>alert(1)</script> done",
		Data:        map[string]any{"release": "v1.2.3", "labels": map[string]any{"team": "platform"}},
		Attachments: []contracts.NotificationAttachment{{Filename: "canary.txt", ContentType: "text/plain", ContentBase64: base64.StdEncoding.EncodeToString(report)}},
	})
	h.waitConsumed(bus.StreamCommands, durableRequests, seq)
	// Through the rule by id, too.
	seq = h.request(contracts.NotificationSendRequested{RequestID: "req-rel-2", TenantID: tenantA, RuleID: rule.ID, Severity: "info", Title: "direct",
		Data: map[string]any{"release": "v1.2.4"}})
	h.waitConsumed(bus.StreamCommands, durableRequests, seq)
	msgs := smtp.Messages()
	if len(msgs) != 2 || msgs[0].To[0] != "releases@inthub.test" {
		t.Fatalf("messages %+v", msgs)
	}
	raw := string(msgs[0].Data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(parseHeader(t, msgs[0].Data).Get("Subject"))
	if subject != "Release v1.2.3: promoted" {
		t.Errorf("subject %q", subject)
	}
	if !strings.Contains(raw, "<h1>v1.2.3</h1><p>&lt;script&gt;alert(1)&lt;/script&gt; done</p>") {
		t.Errorf("the HTML template did not escape the body:\n%s", raw)
	}
	if !strings.Contains(raw, `filename=canary.txt`) || !strings.Contains(raw, base64.StdEncoding.EncodeToString(report)) {
		t.Errorf("attachment missing:\n%s", raw)
	}
	if subject2, _ := new(mime.WordDecoder).DecodeHeader(parseHeader(t, msgs[1].Data).Get("Subject")); subject2 != "Release v1.2.4: direct" {
		t.Errorf("rule request subject %q", subject2)
	}
}

func parseHeader(t *testing.T, raw []byte) mail.Header {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.Header
}

func TestUnknownTemplateAndRuleAreDeadLettered(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	pd := pagerdutyfake.New(t, pdRoutingKey, "")
	pdIt := h.addIntegration(tenantA, "pagerduty", map[string]any{"routingKeyRef": "env://INTHUB_SECRET_A_PD_ROUTING_KEY", "eventsUrl": pd.URL}, "", nil)
	h.request(contracts.NotificationSendRequested{RequestID: "r1", TenantID: tenantA, IntegrationID: pdIt.ID, Severity: "info", Title: "x", Template: "no-such"})
	h.request(contracts.NotificationSendRequested{RequestID: "r2", TenantID: tenantA, RuleID: "11111111-2222-4333-8444-555555555555", Severity: "info", Title: "x"})
	h.request(contracts.NotificationSendRequested{RequestID: "r3", TenantID: tenantA, IntegrationID: pdIt.ID, Severity: "info", Title: "x",
		Attachments: []contracts.NotificationAttachment{{Filename: "a", ContentBase64: "!!"}}})
	waitFor(t, "three dead letters", func() bool { return len(h.deadLetters()) == 3 })
	if pd.Calls() != 0 {
		t.Errorf("%d calls for requests that cannot be sent", pd.Calls())
	}
}

// The delivery id of one event, rule and target is the same on every
// attempt and differs between targets (issue: webhook receivers could not
// deduplicate a redelivery).
func TestDeliveryIDIsDerivedFromEventRuleAndTarget(t *testing.T) {
	t.Parallel()
	n := &notice{id: "evt-1"}
	a := plan{ruleID: "rule-1", target: contracts.NotificationTarget{IntegrationID: "hook-1"}}
	b := plan{ruleID: "rule-1", target: contracts.NotificationTarget{IntegrationID: "hook-2"}}
	c := plan{ruleID: "rule-2", target: contracts.NotificationTarget{IntegrationID: "hook-1"}}
	first, again := deliveryID(a.key(n)), deliveryID(a.key(&notice{id: "evt-1"}))
	if first != again {
		t.Fatalf("the same delivery got ids %s and %s", first, again)
	}
	if _, err := uuid.Parse(first); err != nil {
		t.Fatalf("delivery id %q is not a UUID", first)
	}
	seen := map[string]bool{first: true}
	for _, p := range []plan{b, c} {
		if id := deliveryID(p.key(n)); seen[id] {
			t.Fatalf("two deliveries share id %s", id)
		} else {
			seen[id] = true
		}
	}
	if deliveryID(a.key(&notice{id: "evt-2"})) == first {
		t.Fatal("two events share a delivery id")
	}
}
