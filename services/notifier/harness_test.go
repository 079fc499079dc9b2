package notifier

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify/email"
	"github.com/stella-ops/inthub/shared/connectors/notify/opsgenie"
	"github.com/stella-ops/inthub/shared/connectors/notify/pagerduty"
	"github.com/stella-ops/inthub/shared/connectors/notify/teams"
	"github.com/stella-ops/inthub/shared/connectors/notify/webhook"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/natstest"
	"github.com/stella-ops/inthub/shared/notifyrules"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	tenantA = "0193a0b4-0000-7000-8000-00000000000a"
	tenantB = "0193a0b4-0000-7000-8000-00000000000b"
)

// harness is a notifier on its own embedded JetStream, with a client side
// bus to publish events, seed the catalog and read the results.
type harness struct {
	t            *testing.T
	ns           *server.Server
	bus          *bus.Bus
	js           jetstream.JetStream
	integrations jetstream.KeyValue
	rules        *notifyrules.Client
	engine       *engine
}

func registrySpecs() []*connectors.Spec {
	return []*connectors.Spec{inmemory.Spec, webhook.Spec, teams.Spec, email.Spec, pagerduty.Spec, opsgenie.Spec}
}

func registry() *connectors.Registry { return connectors.NewRegistry(registrySpecs()...) }

// start runs a notifier; tweak may change its config.
func start(t *testing.T, tweak func(*Config)) *harness {
	t.Helper()
	ns := natstest.Start(t)
	bc := natstest.Config(ns, "notifier")
	bc.MaxDeliver = 3
	client := natstest.Open(t, ns, "test")
	js := client.JetStream()
	kv, err := js.CreateOrUpdateKeyValue(context.Background(), catalog.IntegrationsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"INTHUB_SECRET_A_PD_ROUTING_KEY": pdRoutingKey, "INTHUB_SECRET_A_OG_KEY": ogKey,
		"INTHUB_SECRET_A_SMTP_CREDS": smtpUser + ":" + smtpPassword, "INTHUB_SECRET_A_SLACK_TOKEN": slackToken,
		"INTHUB_SECRET_B_PD_ROUTING_KEY": pdRoutingKey,
	}
	local, err := credentials.ParseLocalPolicy(tenantA+"=A,"+tenantB+"=B", "", "")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ns: ns, bus: client, js: js, integrations: kv, rules: notifyrules.NewClient(client.Conn(), 5*time.Second)}
	cfg := Config{
		Bus: bc, Logger: slog.New(slog.DiscardHandler), Registry: registry(),
		Policy:   httpx.GuardPolicy{AllowPrivate: true},
		Resolver: &credentials.Resolver{Local: credentials.LocalResolver{Policy: local, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}},
		Retry: resilience.Policy{InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond, MaxElapsed: 3 * time.Second,
			MaxAttempts: 3, Multiplier: 2, MaxRetryAfter: 2 * time.Second},
		ChannelRate: rate.Inf,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	ready := make(chan struct{})
	cfg.Ready = ready
	cfg.started = func(e *engine) { h.engine = e }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("notifier: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("notifier stopped: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("notifier not ready")
	}
	return h
}

const (
	pdRoutingKey = "R0123456789abcdef0123456789abcde"
	ogKey        = "eb243592-faa2-4ba2-a551-1afdf565c889"
	smtpUser     = "release-bot"
	smtpPassword = "s3cr3t-smtp-pass"
)

// addIntegration stores an integration as the manager would and waits
// until the notifier's view has it. Secrets are env references resolved
// from the harness's fixed map.
func (h *harness) addIntegration(tenantID, typeID string, cfg map[string]any, credentialRef string, labels map[string]string) contracts.Integration {
	h.t.Helper()
	if labels == nil {
		labels = map[string]string{}
	}
	now := time.Now().UTC()
	it := contracts.Integration{
		ID: uuid.NewString(), TenantID: tenantID, TypeID: typeID, Name: typeID + " " + tenantID[len(tenantID)-1:],
		Config: cfg, CredentialRef: credentialRef, HealthStatus: contracts.HealthUnknown, Labels: labels, CreatedAt: now, UpdatedAt: now,
	}
	b, _ := json.Marshal(it)
	rev, err := h.integrations.Put(context.Background(), tenantID+"."+it.ID, b)
	if err != nil {
		h.t.Fatal(err)
	}
	it.Revision = rev
	h.waitIntegration(it)
	return it
}

// publishHealth publishes integration.health.changed with ce-id id and,
// when msgID is set, another Nats-Msg-Id (a redelivery past the bus's
// dedupe). It returns the stream sequence.
func (h *harness) publishHealth(id, msgID string, ev contracts.HealthChanged) uint64 {
	h.t.Helper()
	msg, err := h.bus.Publisher().Message(context.Background(), bus.Event{
		ID: id, Subject: contracts.Subject(contracts.SubjectHealthChanged, ev.TenantID, ev.IntegrationID),
		TenantID: ev.TenantID, DataSubject: ev.IntegrationID, Data: ev,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if msgID != "" {
		msg.Header.Set(bus.HeaderMsgID, msgID)
	}
	ack, err := h.js.PublishMsg(context.Background(), msg)
	if err != nil {
		h.t.Fatal(err)
	}
	if ack.Duplicate {
		h.t.Fatalf("event %s dropped as a duplicate by the stream", id)
	}
	return ack.Sequence
}

// request publishes a notification.send.requested command.
func (h *harness) request(r contracts.NotificationSendRequested) uint64 {
	h.t.Helper()
	last := r.IntegrationID
	if last == "" {
		last = "_"
	}
	ack, err := h.bus.Publisher().Publish(context.Background(), bus.Event{
		ID: "request:" + r.RequestID + ":" + uuid.NewString(), Subject: contracts.Subject(contracts.SubjectNotificationRequest, r.TenantID, last),
		TenantID: r.TenantID, DataSubject: last, Data: r,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return ack.Sequence
}

// waitConsumed waits until the durable has acked everything up to seq.
func (h *harness) waitConsumed(stream, durable string, seq uint64) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := h.js.Consumer(context.Background(), stream, durable)
		if err == nil {
			info, err := c.Info(context.Background())
			if err == nil && info.AckFloor.Stream >= seq && info.NumAckPending == 0 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("%s did not finish with sequence %d", durable, seq)
}

// outcomes collects notification.sent and notification.failed events.
type outcomes struct {
	sub *nats.Subscription
}

func (h *harness) watchOutcomes() *outcomes {
	h.t.Helper()
	return &outcomes{sub: natstest.SubscribeSync(h.t, h.bus.Conn(), "notification.>")}
}

// next returns the next outcome (its subject prefix and body).
func (o *outcomes) next(t *testing.T) (string, contracts.NotificationOutcome) {
	t.Helper()
	for {
		msg, err := o.sub.NextMsg(15 * time.Second)
		if err != nil {
			t.Fatalf("no outcome: %v", err)
		}
		prefix := contracts.PrefixOf(msg.Subject)
		if prefix != contracts.SubjectNotificationSent && prefix != contracts.SubjectNotificationFailed {
			continue
		}
		var out contracts.NotificationOutcome
		if err := json.Unmarshal(msg.Data, &out); err != nil {
			t.Fatal(err)
		}
		return prefix, out
	}
}

// deadLetters returns the messages in INTHUB_DLQ.
func (h *harness) deadLetters() []jetstream.RawStreamMsg {
	h.t.Helper()
	st, err := h.js.Stream(context.Background(), bus.StreamDLQ)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(context.Background(), seq)
		if err == nil {
			out = append(out, *m)
		}
	}
	return out
}

// mustCreateRule creates a rule or fails.
func (h *harness) mustCreateRule(tenantID string, in contracts.NotificationRuleInput) contracts.NotificationRule {
	h.t.Helper()
	r, err := h.rules.Create(context.Background(), notifyrules.CreateRequest{TenantID: tenantID, Input: in})
	if err != nil {
		h.t.Fatalf("create rule: %v", err)
	}
	h.waitRule(r)
	return r
}

// waitRule waits until the notifier routes by the rule: its view follows
// the store through a watch.
func (h *harness) waitRule(r contracts.NotificationRule) {
	h.t.Helper()
	waitFor(h.t, "rule "+r.ID+" in the view", func() bool {
		cr, ok := h.engine.rules.get(r.TenantID, r.ID)
		return ok && cr.rule.Revision == r.Revision
	})
}

// waitIntegration waits until the notifier's catalog view holds it.
func (h *harness) waitIntegration(it contracts.Integration) {
	h.t.Helper()
	waitFor(h.t, "integration "+it.ID+" in the view", func() bool {
		got, ok := h.engine.view.Get(it.TenantID, it.ID)
		return ok && got.Revision == it.Revision
	})
}

// waitFor polls cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
