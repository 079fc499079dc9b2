package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/labels"
	"github.com/stella-ops/inthub/shared/notifyrules"
	"github.com/stella-ops/inthub/shared/safetext"
)

// Limits of a rule.
const (
	maxRuleName        = 200
	maxRuleDescription = 2000
	maxTargets         = 20
	maxChannel         = 1000
	maxRulesPerTenant  = 500
)

// ruleEventTypes are the events a rule can take.
var ruleEventTypes = []string{contracts.SubjectHealthChanged, contracts.SubjectNotificationRequest}

// compiledRule is a stored rule ready to match and render.
type compiledRule struct {
	rule contracts.NotificationRule
	sel  labels.Selector
	tmpl *templates
}

func compileRule(r contracts.NotificationRule) (*compiledRule, error) {
	sel, err := parseLabelSelector(r.Match.LabelSelector)
	if err != nil {
		return nil, err
	}
	tmpl, err := compileTemplates(r.Template)
	if err != nil {
		return nil, err
	}
	return &compiledRule{rule: r, sel: sel, tmpl: tmpl}, nil
}

// matches reports whether the rule takes n.
func (r *compiledRule) matches(n *notice) bool {
	m := r.rule.Match
	switch {
	case r.rule.Disabled, !slices.Contains(m.EventTypes, n.kind):
		return false
	case len(m.Severities) > 0 && !slices.Contains(m.Severities, n.matchSeverity):
		return false
	}
	return r.sel.Matches(n.labels)
}

// integrationLookup reads an integration of a tenant from the catalog.
type integrationLookup func(ctx context.Context, tenantID, id string) (contracts.Integration, bool, error)

// validator checks a rule input whole before anything is stored.
type validator struct {
	registry *connectors.Registry
	lookup   integrationLookup
}

// parseLabelSelector parses a rule's label selector; a bad one names its field.
func parseLabelSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, apierr.From(err).With("field", "match.labelSelector")
	}
	return sel, nil
}

func invalid(field, format string, args ...any) error {
	return apierr.BadRequest(apierr.ValidationFailed, format, args...).With("field", field)
}

func invalidTarget(field, format string, args ...any) error {
	return apierr.BadRequest(notifyrules.InvalidTarget, format, args...).With("field", field)
}

// validate checks in for tenantID and returns it normalised and compiled.
func (v *validator) validate(ctx context.Context, tenantID string, in contracts.NotificationRuleInput) (contracts.NotificationRuleInput, *compiledRule, error) {
	in.Name = strings.TrimSpace(in.Name)
	if n := len([]rune(in.Name)); n < 1 || n > maxRuleName {
		return in, nil, invalid("name", "name must be 1 to %d characters", maxRuleName)
	}
	if len([]rune(in.Description)) > maxRuleDescription {
		return in, nil, invalid("description", "description must be at most %d characters", maxRuleDescription)
	}
	if err := safetext.Field("name", in.Name, false); err != nil {
		return in, nil, err
	}
	if err := safetext.Field("description", in.Description, true); err != nil {
		return in, nil, err
	}
	if err := validateMatch(in.Match); err != nil {
		return in, nil, err
	}
	if len(in.Targets) < 1 || len(in.Targets) > maxTargets {
		return in, nil, invalidTarget("targets", "a rule needs 1 to %d targets", maxTargets)
	}
	seen := map[contracts.NotificationTarget]bool{}
	for i := range in.Targets {
		in.Targets[i].Channel = strings.TrimSpace(in.Targets[i].Channel)
		t := in.Targets[i]
		if seen[t] {
			return in, nil, invalidTarget(fmt.Sprintf("targets[%d]", i), "targets[%d] repeats an earlier target", i)
		}
		seen[t] = true
		if err := v.validateTarget(ctx, tenantID, i, t); err != nil {
			return in, nil, err
		}
	}
	if in.Template != nil && *in.Template == (contracts.NotificationTemplate{}) {
		in.Template = nil
	}
	if err := checkTemplateSizes(in.Template); err != nil {
		return in, nil, err
	}
	cr, err := compileRule(contracts.NotificationRule{TenantID: tenantID, Name: in.Name, Match: in.Match, Targets: in.Targets, Template: in.Template})
	if err != nil {
		return in, nil, err
	}
	if err := cr.tmpl.checkWork(); err != nil {
		return in, nil, err
	}
	// A template must render on every kind of event the rule takes, with
	// realistic data, so a broken one is refused now, not when an alert fires.
	for _, d := range sampleRenderData(tenantID, in.Match.EventTypes) {
		if _, err := cr.tmpl.render(d); err != nil {
			return in, nil, err
		}
	}
	return in, cr, nil
}

func validateMatch(m contracts.NotificationMatch) error {
	if len(m.EventTypes) == 0 {
		return invalid("match.eventTypes", "match.eventTypes needs at least one of %s", strings.Join(ruleEventTypes, ", "))
	}
	for i, t := range m.EventTypes {
		if !slices.Contains(ruleEventTypes, t) {
			return invalid(fmt.Sprintf("match.eventTypes[%d]", i), "event type %q is not one of %s", truncate(t, 80), strings.Join(ruleEventTypes, ", "))
		}
		if slices.Index(m.EventTypes, t) != i {
			return invalid(fmt.Sprintf("match.eventTypes[%d]", i), "event type %q is listed twice", t)
		}
	}
	for i, s := range m.Severities {
		if !notify.ValidSeverity(s) {
			return invalid(fmt.Sprintf("match.severities[%d]", i), "severity %q is not one of %s", truncate(s, 40), strings.Join(notify.Severities, ", "))
		}
	}
	_, err := parseLabelSelector(m.LabelSelector)
	return err
}

var slackChannelRe = regexp.MustCompile(`^[#@]?[A-Za-z0-9._-]{1,80}$`)

// validateTarget checks that a target is a notification integration of the
// same tenant and that its channel fits the provider.
func (v *validator) validateTarget(ctx context.Context, tenantID string, i int, t contracts.NotificationTarget) error {
	field := fmt.Sprintf("targets[%d]", i)
	if _, err := uuid.Parse(t.IntegrationID); err != nil {
		return invalidTarget(field+".integrationId", "%s: integrationId must be an integration's id", field)
	}
	it, ok, err := v.lookup(ctx, tenantID, t.IntegrationID)
	if err != nil {
		return err
	}
	if !ok {
		// Another tenant's integration gets the same answer as none at all.
		return invalidTarget(field+".integrationId", "%s: no integration %s in this tenant", field, t.IntegrationID)
	}
	spec, ok := v.registry.Lookup(it.TypeID)
	if !ok || spec.Category != connectors.CategoryNotification || !slices.Contains(spec.Capabilities, connectors.CapNotify) {
		return invalidTarget(field+".integrationId", "%s: integration %s is a %s integration, not a notification one", field, t.IntegrationID, it.TypeID)
	}
	if err := validChannel(spec.ID, t.Channel); err != nil {
		return invalidTarget(field+".channel", "%s: %s", field, err.Error())
	}
	return nil
}

// validChannel checks a channel for a provider.
func validChannel(provider, channel string) error {
	if channel == "" {
		return nil
	}
	if len(channel) > maxChannel || strings.IndexFunc(channel, unicode.IsControl) >= 0 {
		return fmt.Errorf("channel must be at most %d characters without control characters", maxChannel)
	}
	switch provider {
	case "slack":
		if !slackChannelRe.MatchString(channel) {
			return fmt.Errorf("channel %q is not a Slack channel (#name, a channel id or @user)", truncate(channel, 80))
		}
	case "email":
		list, err := mail.ParseAddressList(channel)
		if err != nil || len(list) == 0 || len(list) > 50 {
			return errors.New("channel must be 1 to 50 comma-separated email addresses")
		}
	case "teams", "pagerduty", "opsgenie":
		return fmt.Errorf("provider %s takes no channel: its destination is in the integration", provider)
	}
	return nil
}

// sampleRenderData is what a rule's templates are tried on.
func sampleRenderData(tenantID string, eventTypes []string) []renderData {
	var out []renderData
	for _, t := range eventTypes {
		switch t {
		case contracts.SubjectHealthChanged:
			it := contracts.Integration{ID: "3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10", TenantID: tenantID, TypeID: "docker-registry",
				Name: "Production Registry", Labels: map[string]string{"environment": "production"}}
			down := contracts.HealthChanged{TenantID: tenantID, IntegrationID: it.ID, TypeID: it.TypeID, Name: it.Name, Labels: it.Labels,
				Previous: contracts.HealthHealthy, Current: contracts.HealthUnhealthy, Reason: "dial tcp: connection refused",
				ErrorCode: "CONNECTION_REFUSED", ChangedAt: time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)}
			up := down
			up.Previous, up.Current, up.Reason, up.ErrorCode = contracts.HealthUnhealthy, contracts.HealthHealthy, "", ""
			for i, ev := range []contracts.HealthChanged{down, up} {
				n := healthNotice(fmt.Sprintf("%s:changed:%d", it.ID, i+7), ev)
				out = append(out, n.renderData())
			}
		case contracts.SubjectNotificationRequest:
			n, _ := requestNotice(contracts.NotificationSendRequested{
				RequestID: "req-5d1e", TenantID: tenantID, Severity: notify.SeverityWarning, Title: "Release v1.2.3 promoted to production",
				Body: "Promotion finished in 4m12s.", ThreadKey: "release-v1.2.3",
				Data: map[string]any{"release": "v1.2.3", "environment": "production", "labels": map[string]any{"team": "platform"}},
			})
			out = append(out, n.renderData())
		}
	}
	return out
}

// ruleStore is the rules' store of record: KV bucket notification-rules,
// key <tenantId>.<ruleId>, written only by the notifier.
type ruleStore struct {
	// js lists the bucket's keys and writes delete markers carrying the
	// audit stamp.
	js jetstream.JetStream
	kv jetstream.KeyValue
	// deliveries is the deliveries bucket, read for a rule's history.
	deliveries jetstream.KeyValue
	validator  *validator
	now        func() time.Time
}

func storeError(err error) error {
	return apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the rules store cannot be reached")
}

// validTenant refuses tenant ids that are not UUIDs: they become KV keys,
// where dots or wildcards would cross tenants.
func validTenant(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return apierr.New(http.StatusBadRequest, apierr.InvalidTenant, "tenant id must be a UUID")
	}
	return nil
}

func notFound(id string) error {
	return apierr.New(http.StatusNotFound, notifyrules.RuleNotFound, "notification rule %s not found", truncate(id, 64))
}

// read returns a stored rule or 404; an id that is not a UUID is 404 too.
func (s *ruleStore) read(ctx context.Context, tenantID, id string) (contracts.NotificationRule, error) {
	var r contracts.NotificationRule
	if err := validTenant(tenantID); err != nil {
		return r, err
	}
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return r, notFound(id)
	}
	e, err := s.kv.Get(ctx, tenantID+"."+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return r, notFound(id)
	}
	if err != nil {
		return r, storeError(err)
	}
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return r, fmt.Errorf("decode rule %s: %w", id, err)
	}
	r.Revision = e.Revision()
	return r, nil
}

// Get reads a rule.
func (s *ruleStore) Get(ctx context.Context, r notifyrules.GetRequest) (contracts.NotificationRule, error) {
	return s.read(ctx, r.TenantID, r.ID)
}

// List returns a tenant's rules by name.
func (s *ruleStore) List(ctx context.Context, r notifyrules.ListRequest) (contracts.NotificationRuleList, error) {
	out := contracts.NotificationRuleList{Items: []contracts.NotificationRule{}}
	if err := validTenant(r.TenantID); err != nil {
		return out, err
	}
	keys, err := bus.BucketKeys(ctx, s.js, s.kv, r.TenantID+".*")
	if err != nil {
		return out, storeError(err)
	}
	for _, k := range keys {
		_, id, _ := strings.Cut(k, ".")
		rule, err := s.read(ctx, r.TenantID, id)
		if apierr.From(err).Code == notifyrules.RuleNotFound {
			continue // deleted since listed
		}
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, rule)
	}
	slices.SortFunc(out.Items, func(a, b contracts.NotificationRule) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (s *ruleStore) count(ctx context.Context, tenantID string) (int, error) {
	keys, err := bus.BucketKeys(ctx, s.js, s.kv, tenantID+".*")
	if err != nil {
		return 0, storeError(err)
	}
	n := 0
	for _, k := range keys {
		// The listing names deleted rules too (their marker is the key's
		// last entry); only rules that exist count against the quota.
		switch _, err := s.kv.Get(ctx, k); {
		case err == nil:
			n++
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return 0, storeError(err)
		}
	}
	return n, nil
}

// Create validates and stores a new rule.
func (s *ruleStore) Create(ctx context.Context, r notifyrules.CreateRequest) (contracts.NotificationRule, error) {
	if err := validTenant(r.TenantID); err != nil {
		return contracts.NotificationRule{}, err
	}
	in, _, err := s.validator.validate(ctx, r.TenantID, r.Input)
	if err != nil {
		return contracts.NotificationRule{}, err
	}
	if n, err := s.count(ctx, r.TenantID); err != nil {
		return contracts.NotificationRule{}, err
	} else if n >= maxRulesPerTenant {
		return contracts.NotificationRule{}, invalid("", "a tenant has at most %d notification rules", maxRulesPerTenant)
	}
	if err := audit.CheckActor(r.Actor); err != nil {
		return contracts.NotificationRule{}, err
	}
	now := s.now().UTC()
	rule := fromInput(uuid.NewString(), r.TenantID, in, now, now)
	b, _ := json.Marshal(storedRule{rule, &audit.Stamp{Action: contracts.AuditCreated, Actor: r.Actor, Changes: ruleFields.Diff(nil, rule)}})
	rev, err := s.kv.Create(ctx, r.TenantID+"."+rule.ID, b)
	if err != nil {
		return contracts.NotificationRule{}, storeError(err)
	}
	rule.Revision = rev
	return rule, nil
}

// Replace validates and replaces a rule, under If-Match when given.
func (s *ruleStore) Replace(ctx context.Context, r notifyrules.ReplaceRequest) (contracts.NotificationRule, error) {
	cur, err := s.read(ctx, r.TenantID, r.ID)
	if err != nil {
		return cur, err
	}
	if r.IfMatch != 0 && r.IfMatch != cur.Revision {
		return cur, preconditionFailed(cur.Revision)
	}
	in, _, err := s.validator.validate(ctx, r.TenantID, r.Input)
	if err != nil {
		return contracts.NotificationRule{}, err
	}
	if err := audit.CheckActor(r.Actor); err != nil {
		return contracts.NotificationRule{}, err
	}
	rule := fromInput(cur.ID, cur.TenantID, in, cur.CreatedAt, s.now().UTC())
	b, _ := json.Marshal(storedRule{rule, &audit.Stamp{Action: contracts.AuditUpdated, Actor: r.Actor, Changes: ruleFields.Diff(cur, rule)}})
	rev, err := s.kv.Update(ctx, r.TenantID+"."+r.ID, b, cur.Revision)
	if err != nil {
		if isWrongRevision(err) {
			return contracts.NotificationRule{}, preconditionFailed(0)
		}
		return contracts.NotificationRule{}, storeError(err)
	}
	rule.Revision = rev
	return rule, nil
}

// Delete deletes a rule, under If-Match when given, and returns its last
// version.
func (s *ruleStore) Delete(ctx context.Context, r notifyrules.DeleteRequest) (contracts.NotificationRule, error) {
	cur, err := s.read(ctx, r.TenantID, r.ID)
	if err != nil {
		return cur, err
	}
	if r.IfMatch != 0 && r.IfMatch != cur.Revision {
		return cur, preconditionFailed(cur.Revision)
	}
	if err := audit.CheckActor(r.Actor); err != nil {
		return contracts.NotificationRule{}, err
	}
	stamp := audit.Stamp{Action: contracts.AuditDeleted, Actor: r.Actor}
	if err := audit.Delete(ctx, s.js, BucketRules, r.TenantID+"."+r.ID, cur.Revision, stamp); err != nil {
		if isWrongRevision(err) {
			return contracts.NotificationRule{}, preconditionFailed(0)
		}
		return contracts.NotificationRule{}, storeError(err)
	}
	return cur, nil
}

func fromInput(id, tenantID string, in contracts.NotificationRuleInput, created, updated time.Time) contracts.NotificationRule {
	return contracts.NotificationRule{
		ID: id, TenantID: tenantID, Name: in.Name, Description: in.Description, Disabled: in.Disabled,
		Match: in.Match, Targets: in.Targets, Template: in.Template, CreatedAt: created, UpdatedAt: updated,
	}
}

func preconditionFailed(current uint64) error {
	e := apierr.New(http.StatusPreconditionFailed, apierr.PreconditionFailed, "the rule changed since the version given in If-Match")
	if current != 0 {
		e = e.With("currentETag", fmt.Sprintf("%q", fmt.Sprint(current)))
	}
	return e
}

// isWrongRevision reports a compare-and-set that lost a race.
func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// storedRule is what the rules bucket holds: the rule, and the stamp of
// the change that stored it (who, which fields) for its audit record.
// Readers decoding a contracts.NotificationRule ignore the stamp.
type storedRule struct {
	contracts.NotificationRule
	Audit *audit.Stamp `json:"audit,omitempty"`
}

// ruleFields is how a rule's changes are recorded: every field the caller
// sets (a rule holds no secret; a long template is recorded as changed).
var ruleFields = audit.Fields{Skip: []string{"id", "tenantId", "createdAt", "updatedAt", "revision"}}

// ruleAuditRecord is the audit record of a stored change of the rules
// bucket (key <tenantId>.<ruleId>).
func ruleAuditRecord(ctx context.Context, c audit.Change) (contracts.AuditRecord, error) {
	tenant, id, ok := strings.Cut(c.Key, ".")
	if !ok || validTenant(tenant) != nil {
		return contracts.AuditRecord{}, audit.NewPermanent(fmt.Errorf("key %q is not <tenantId>.<ruleId>", c.Key))
	}
	rec := contracts.AuditRecord{
		ID: audit.RecordID(contracts.AuditNotificationRule, id, c.Revision), TenantID: tenant,
		ResourceType: contracts.AuditNotificationRule, ResourceID: id, Action: c.Stamp.Action,
		Actor: c.Stamp.Actor, Changes: append([]contracts.FieldChange{}, c.Stamp.Changes...),
		Revision: c.Revision, OccurredAt: c.Time,
	}
	value := c.Value
	if c.Deleted {
		rec.Action, rec.Changes = contracts.AuditDeleted, []contracts.FieldChange{}
		prev, err := c.Previous(ctx)
		if err != nil {
			return rec, err
		}
		value = prev
	}
	var rule contracts.NotificationRule
	if len(value) > 0 {
		if err := json.Unmarshal(value, &rule); err != nil && !c.Deleted {
			return rec, audit.NewPermanent(fmt.Errorf("decode rule %s: %w", c.Key, err))
		}
	}
	rec.ResourceName = rule.Name
	if rec.Action == "" { // written without a stamp (not by this notifier)
		rec.Action = contracts.AuditUpdated
	}
	return rec, nil
}
