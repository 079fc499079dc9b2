package notifier

import (
	"github.com/google/uuid"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// threaded providers reply in a thread they identify themselves (a Slack
// message, an email Message-ID): the notifier keeps that id per thread key.
var threaded = map[string]bool{"slack": true, "email": true}

// incident providers open and resolve one alert per incident key.
var incident = map[string]bool{"pagerduty": true, "opsgenie": true}

// directRule names the deliveries of a request sent to one integration
// without a rule, in idempotency keys.
const directRule = "direct"

// maxParallelTargets bounds the deliveries of one event run at once.
const maxParallelTargets = 8

// plan is one delivery: a rule's target with the rule's templates.
type plan struct {
	ruleID string
	target contracts.NotificationTarget
	tmpl   *templates
}

// key is the plan's idempotency key: <event id>:<rule id>:<target>.
func (p plan) key(n *notice) string {
	k := n.id + ":" + p.ruleID + ":" + p.target.IntegrationID
	if p.target.Channel != "" {
		k += "/" + p.target.Channel
	}
	return k
}

// deliveryNamespace makes delivery ids UUIDs of their own kind.
var deliveryNamespace = uuid.MustParse("8d0c3a5e-5f2b-4f7e-9a41-6f1d2c7b9e10")

// deliveryID is the stable id of one plan's delivery of one event: a UUID
// (version 5) of its idempotency key, the same on every attempt.
func deliveryID(key string) string { return uuid.NewSHA1(deliveryNamespace, []byte(key)).String() }

// engine delivers notices: it matches rules, renders, sends through the
// connector pool with retries by error code and a per-channel rate limit,
// records each delivery for idempotency and publishes the outcomes.
type engine struct {
	// view is the catalog; a miss reads its bucket (View.Lookup).
	view       *catalog.View
	rules      *ruleView
	pool       *runtime.Pool
	deliveries *deliveryStore
	threads    *threadStore
	limits     *channelLimits
	retry      resilience.Policy
	maxDeliver uint64
	now        func() time.Time
	logger     *slog.Logger
	metrics    *metrics
	locks      keyedMutex
}

// planFor routes a notice: a request naming an integration goes there; one
// naming a rule goes to the rule's targets; anything else to every rule of
// the tenant that matches it. An error is permanent unless it says retry.
func (e *engine) planFor(ctx context.Context, n *notice) ([]plan, error) {
	if n.kind == contracts.SubjectNotificationRequest && (n.integrationID != "" || n.ruleID != "") {
		var rule *compiledRule
		if n.ruleID != "" {
			// A miss in the view reads the bucket (the watch may lag);
			// only the bucket's answer makes the rule missing.
			r, ok, err := e.rules.lookup(ctx, n.tenantID, n.ruleID)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, bus.Permanent(resilience.New(resilience.InvalidConfig, "no notification rule %s in tenant %s", n.ruleID, n.tenantID))
			}
			rule = r
		}
		if n.integrationID == "" {
			out := make([]plan, 0, len(rule.rule.Targets))
			for _, t := range rule.rule.Targets {
				out = append(out, plan{ruleID: rule.rule.ID, target: t, tmpl: rule.tmpl})
			}
			return out, nil
		}
		p := plan{ruleID: directRule, target: contracts.NotificationTarget{IntegrationID: n.integrationID, Channel: n.channel}}
		switch {
		case rule != nil:
			p.ruleID, p.tmpl = rule.rule.ID, rule.tmpl
		default:
			t, ok := builtin(n.template)
			if !ok {
				return nil, bus.Permanent(resilience.New(resilience.InvalidConfig, "no template %q (built-in: default, health-changed)", n.template))
			}
			p.tmpl = t
		}
		return []plan{p}, nil
	}
	var out []plan
	for _, r := range e.rules.tenant(n.tenantID) {
		if !r.matches(n) {
			continue
		}
		for _, t := range r.rule.Targets {
			out = append(out, plan{ruleID: r.rule.ID, target: t, tmpl: r.tmpl})
		}
	}
	return out, nil
}

// result is the outcome of one plan.
type result struct {
	err       error
	permanent bool
}

// handle delivers n for the bus message m. It returns nil when every
// delivery is done, a Permanent error (dead-letter now) when the only
// failures are ones no retry can fix, and a plain error (redeliver, then
// dead-letter with the reason at MaxDeliver) otherwise. Outcomes are
// published through out, the producer of m's route.
func (e *engine) handle(ctx context.Context, m *bus.Message, n *notice, out *bus.Producer) error {
	plans, err := e.planFor(ctx, n)
	if err != nil {
		return err
	}
	if len(plans) == 0 {
		e.metrics.unrouted.WithLabelValues(n.kind).Inc()
		return nil
	}
	results := make([]result, len(plans))
	sem := make(chan struct{}, maxParallelTargets)
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = e.deliver(ctx, m, n, p, out)
		}()
	}
	wg.Wait()
	var retryable, permanent []error
	for _, r := range results {
		switch {
		case r.err == nil:
		case r.permanent:
			permanent = append(permanent, r.err)
		default:
			retryable = append(retryable, r.err)
		}
	}
	switch {
	case len(retryable) > 0:
		return errors.Join(append(retryable, permanent...)...)
	case len(permanent) > 0:
		return bus.Permanent(errors.Join(permanent...))
	}
	return nil
}

// deliver runs one plan: claim, render, send with retries, record.
func (e *engine) deliver(ctx context.Context, m *bus.Message, n *notice, p plan, out *bus.Producer) result {
	key := p.key(n)
	target := p.target.IntegrationID
	log := e.logger.With("tenant_id", n.tenantID, "integration_id", target, "rule_id", p.ruleID, "event_id", n.id)
	state, rec, err := e.deliveries.claim(ctx, n.tenantID, key, m.Sequence)
	if err != nil {
		return result{err: fmt.Errorf("%s: %w", target, err)}
	}
	switch state {
	case alreadySent:
		e.metrics.deliveries.WithLabelValues("", "duplicate").Inc()
		// Publish the outcome again: a crash between recording and
		// publishing must not lose it (the bus drops the duplicate).
		e.publish(ctx, out, n, p, key, rec.ProviderMessageID, nil)
		return result{}
	case failedHere:
		return result{err: fmt.Errorf("%s: %s", target, rec.Reason), permanent: true}
	case busy:
		return result{err: fmt.Errorf("%s: another worker is delivering this notification", target)}
	}

	providerID, provider, sendErr := e.send(ctx, n, p, log)
	// The bookkeeping after a send must happen even when the handler's
	// deadline just passed, or a sent message would be sent again.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if sendErr == nil {
		e.metrics.deliveries.WithLabelValues(provider, "sent").Inc()
		if err := e.deliveries.sent(bctx, n.tenantID, key, providerID); err != nil {
			// Not recorded: the redelivery sends again (at least once).
			return result{err: fmt.Errorf("%s: sent, but %w", target, err)}
		}
		log.InfoContext(ctx, "notification sent", "provider", provider, "provider_message_id", providerID)
		e.publish(bctx, out, n, p, key, providerID, nil)
		return result{}
	}
	code := resilience.CodeOf(sendErr)
	permanent := resilience.StrategyFor(code) == resilience.NoRetry
	reason := fmt.Sprintf("%s: %s", target, sendErr.Error())
	if permanent {
		e.metrics.deliveries.WithLabelValues(provider, "failed").Inc()
		log.WarnContext(ctx, "notification failed", "provider", provider, "error_code", string(code), "error", sendErr.Error())
		if err := e.deliveries.failed(bctx, n.tenantID, key, m.Sequence, string(code), reason); err != nil {
			log.WarnContext(ctx, "failure not recorded", "error", err.Error())
		}
		e.publish(bctx, out, n, p, key, "", sendErr)
		return result{err: errors.New(reason), permanent: true}
	}
	e.metrics.deliveries.WithLabelValues(provider, "retry").Inc()
	if err := e.deliveries.release(bctx, n.tenantID, key); err != nil {
		log.WarnContext(ctx, "claim not released; the next delivery waits for it to go stale", "error", err.Error())
	}
	if m.Delivered >= e.maxDeliver {
		// The last attempt: the bus dead-letters the message after this.
		e.publish(bctx, out, n, p, key, "", sendErr)
	}
	return result{err: errors.New(reason)}
}

// send renders and sends one plan; it returns the provider message id and
// the provider's id for metrics.
func (e *engine) send(ctx context.Context, n *notice, p plan, log *slog.Logger) (string, string, error) {
	it, ok, err := e.view.Lookup(ctx, n.tenantID, p.target.IntegrationID)
	if err != nil {
		return "", "", resilience.Wrap(resilience.UpstreamError, err, "read integration %s", p.target.IntegrationID)
	}
	if !ok {
		return "", "", resilience.New(resilience.IntegrationNotFound, "integration %s is not in the catalog", p.target.IntegrationID)
	}
	conn, spec, err := e.pool.Get(ctx, it)
	if err != nil {
		return "", it.TypeID, err
	}
	notifier, ok := connectors.AsNotifier(conn)
	if !ok {
		return "", spec.ID, resilience.New(resilience.NotSupported, "provider %s does not send notifications", spec.ID)
	}
	msg, err := e.message(n, p, spec.ID)
	if err != nil {
		return "", spec.ID, resilience.Wrap(resilience.InvalidConfig, err, "render")
	}
	threadID, hasThread := "", false
	if threaded[spec.ID] && n.threadKey != "" {
		unlock := e.locks.lock(n.tenantID + "/" + it.ID + "/" + n.threadKey)
		defer unlock()
		if threadID, hasThread, err = e.threads.get(ctx, n.tenantID, it.ID, n.threadKey); err != nil {
			return "", spec.ID, resilience.Wrap(resilience.UpstreamError, err, "thread of %s", n.threadKey)
		}
		if hasThread {
			msg.ThreadKey = threadID
		}
	}
	if err := e.limits.wait(ctx, n.tenantID+"/"+it.ID+"/"+msg.Channel); err != nil {
		return "", spec.ID, err
	}
	var id string
	retry := connectors.NewValues(spec, it.Config).RetryPolicy(e.retry)
	err = resilience.Do(ctx, retry, func(ctx context.Context) error {
		var err error
		id, err = notifier.Notify(ctx, msg)
		return err
	}, resilience.WithNotify(func(err error, wait time.Duration) {
		e.metrics.retries.WithLabelValues(spec.ID, string(resilience.CodeOf(err))).Inc()
		log.InfoContext(ctx, "notification retried", "provider", spec.ID, "error_code", string(resilience.CodeOf(err)), "wait", wait.String())
	}))
	if err != nil {
		return "", spec.ID, err
	}
	if threaded[spec.ID] && n.threadKey != "" {
		e.followThread(ctx, n, it, conn, threadID, hasThread, id, log)
	}
	return id, spec.ID, nil
}

// followThread keeps the thread of a threaded provider: the first message
// of a thread key becomes its thread; a resolve closes it (and, on Slack,
// marks the root with a reaction), so the next incident starts afresh.
func (e *engine) followThread(ctx context.Context, n *notice, it contracts.Integration, conn connectors.Connector, threadID string, hasThread bool, id string, log *slog.Logger) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch {
	case n.action == notify.ActionResolve && hasThread:
		if r, ok := connectors.AsReactor(conn); ok {
			if ch, ts, ok := strings.Cut(threadID, ":"); ok {
				if err := r.React(bctx, ch, ts, "white_check_mark"); err != nil {
					log.InfoContext(ctx, "resolved thread not marked", "error", err.Error())
				}
			}
		}
		if err := e.threads.remove(bctx, n.tenantID, it.ID, n.threadKey); err != nil {
			log.WarnContext(ctx, "thread not closed", "error", err.Error())
		}
	case !hasThread && n.action != notify.ActionResolve && id != "":
		if err := e.threads.put(bctx, n.tenantID, it.ID, n.threadKey, id); err != nil {
			log.WarnContext(ctx, "thread not kept; follow-ups start a new one", "error", err.Error())
		}
	}
}

// message renders n for one plan and provider.
func (e *engine) message(n *notice, p plan, provider string) (connectors.Message, error) {
	r, err := p.tmpl.render(n.renderData())
	if err != nil {
		return connectors.Message{}, err
	}
	data := make(map[string]any, len(n.data)+2)
	for k, v := range n.data {
		data[k] = v
	}
	if n.action != "" {
		data[notify.KeyAction] = n.action
	}
	msg := connectors.Message{Channel: p.target.Channel, Severity: n.severity, Title: r.title, Text: r.text, ThreadKey: n.threadKey,
		DeliveryID: deliveryID(p.key(n))}
	switch provider {
	case "slack":
		if r.slackBlocks != nil {
			data[notify.KeySlackBlocks] = r.slackBlocks
		}
	case "teams":
		if r.teamsCard != nil {
			data[notify.KeyTeamsCard] = r.teamsCard
		}
	case "email":
		if r.html != "" {
			data[notify.KeyHTML] = r.html
		}
		if len(n.attachments) > 0 {
			data[notify.KeyAttachments] = n.attachments
		}
	case "webhook":
		if r.webhookData != nil {
			data = r.webhookData
			if n.action != "" {
				data[notify.KeyAction] = n.action
			}
		}
	}
	if incident[provider] {
		msg.ThreadKey = n.incidentKey
	}
	if threaded[provider] {
		msg.ThreadKey = "" // set from the thread store
	}
	msg.Data = data
	return msg, nil
}

// publish announces a delivery's outcome: notification.sent, or
// notification.failed with the error. Its id derives from the idempotency
// key, so repeats are dropped by the bus.
func (e *engine) publish(ctx context.Context, out *bus.Producer, n *notice, p plan, key, providerID string, sendErr error) {
	prefix := contracts.SubjectNotificationSent
	outcome := contracts.NotificationOutcome{
		RequestID: n.id, TenantID: n.tenantID, IntegrationID: p.target.IntegrationID, Channel: p.target.Channel,
		ProviderMessageID: providerID, OccurredAt: e.now().UTC(),
	}
	if sendErr != nil {
		prefix = contracts.SubjectNotificationFailed
		code := resilience.CodeOf(sendErr)
		outcome.Error = &contracts.ErrorBody{Code: string(code), Message: notify.Truncate(resilience.MessageOf(sendErr), 1000)}
		if wait := resilience.RetryAfterOf(sendErr); wait > 0 {
			outcome.Error.Details = map[string]any{"retryAfterSeconds": int(wait.Seconds())}
		}
	}
	_, err := out.Publish(ctx, bus.Event{
		ID: prefix + ":" + digest(key), Subject: contracts.Subject(prefix, n.tenantID, p.target.IntegrationID),
		TenantID: n.tenantID, DataSubject: p.target.IntegrationID, Data: outcome,
	})
	if err != nil {
		e.logger.WarnContext(ctx, "outcome not published", "tenant_id", n.tenantID, "integration_id", p.target.IntegrationID, "error", err.Error())
	}
}
