package manager

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/labels"
)

// Page sizes of list calls.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// Catalog is the manager's logic: the type registry and integration
// instances, validated and stored with optimistic concurrency; the outbox
// announces what is stored as lifecycle events.
type Catalog struct {
	registry *connectors.Registry
	local    credentials.LocalPolicy
	store    *kvStore
	keys     *keyStore
	outbox   *outbox
	crash    *crasher
	logger   *slog.Logger
	now      func() time.Time
}

// Providers lists provider specs; test-only ones only when asked.
func (c *Catalog) Providers(includeTestOnly bool) contracts.ProviderList {
	out := contracts.ProviderList{Items: []contracts.ProviderInfo{}}
	for _, s := range c.registry.Specs() {
		if s.TestOnly && !includeTestOnly {
			continue
		}
		out.Items = append(out.Items, s.Info())
	}
	return out
}

// Create validates and stores a new integration; the outbox announces it
// as integration.created. With an idempotency key, a retry (same tenant,
// key and body) answers what the first call stored, and says so (replayed).
func (c *Catalog) Create(ctx context.Context, r catalog.CreateRequest) (it contracts.Integration, replayed bool, err error) {
	if err := validTenant(r.TenantID); err != nil {
		return it, false, err
	}
	if err := audit.CheckActor(r.Actor); err != nil {
		return it, false, err
	}
	if r.IdempotencyKey != "" {
		if err := validIdempotencyKey(r.IdempotencyKey); err != nil {
			return it, false, err
		}
	}
	spec, err := validateInput(c.registry, r.Input)
	if err != nil {
		return it, false, err
	}
	if err := c.checkRefs(ctx, r.TenantID, spec, r.Input); err != nil {
		return it, false, err
	}
	now := c.now().UTC().Truncate(time.Millisecond)
	it = contracts.Integration{
		ID: uuid.Must(uuid.NewV7()).String(), TenantID: r.TenantID, CreatedAt: now, UpdatedAt: now,
	}
	var claim keyRecord
	var claimRev uint64
	if r.IdempotencyKey != "" {
		claim = keyRecord{Fingerprint: fingerprint(r.Input), IntegrationID: it.ID, CreatedAt: now}
		held, rev, ours, err := c.keys.claim(ctx, r.TenantID, r.IdempotencyKey, claim)
		switch {
		case err != nil:
			return contracts.Integration{}, false, err
		case held.Fingerprint != claim.Fingerprint:
			return contracts.Integration{}, false, keyReused()
		case !ours && held.Revision != 0:
			it, err := c.replay(ctx, r.TenantID, held)
			return it, err == nil, err
		case !ours:
			// The first call with this key has not finished (or died before
			// it did): store the integration under the id it chose. One id,
			// so at most one integration, whichever call gets there first.
			it.ID, it.CreatedAt, it.UpdatedAt = held.IntegrationID, held.CreatedAt, held.CreatedAt
		}
		claim, claimRev = held, rev
	}
	apply(&it, spec, r.Input)
	stamp := &audit.Stamp{Action: contracts.AuditCreated, Actor: r.Actor, Changes: auditFields(spec).Diff(nil, it)}
	rev, err := c.store.create(ctx, it, traceOf(ctx), stamp)
	if errors.Is(err, errConflict) && r.IdempotencyKey != "" {
		// Another call with this key stored it first.
		it, err := c.replay(ctx, r.TenantID, claim)
		return it, err == nil, err
	}
	if err != nil {
		return contracts.Integration{}, false, fmt.Errorf("create integration: %w", err)
	}
	it.Revision = rev
	it.HealthStatus = contracts.HealthUnknown
	if r.IdempotencyKey != "" {
		claim.Revision = rev
		if err := c.keys.complete(ctx, r.TenantID, r.IdempotencyKey, claim, claimRev); err != nil {
			c.logger.WarnContext(ctx, "idempotency record left unfinished", "tenant_id", it.TenantID, "integration_id", it.ID, "error", err.Error())
		}
	}
	if c.crash.at(crashAfterStore) {
		return contracts.Integration{}, false, errors.New("crashed after store (test)")
	}
	c.announced(ctx, it.TenantID, it.ID, rev)
	c.logger.InfoContext(ctx, "integration created", "tenant_id", it.TenantID, "integration_id", it.ID, "provider", it.TypeID)
	return it, false, nil
}

// replay answers a create retried with its idempotency key: the
// integration as that key's first create stored it, or as it is now if the
// store no longer holds that version; not found once it has been deleted
// and forgotten.
func (c *Catalog) replay(ctx context.Context, tenant string, held keyRecord) (contracts.Integration, error) {
	var rec record
	err := errors.New("no revision recorded")
	if held.Revision != 0 {
		rec, err = c.store.getRevision(ctx, tenant, held.IntegrationID, held.Revision)
	}
	if err != nil {
		if rec, err = c.store.getRecord(ctx, tenant, held.IntegrationID); err != nil {
			if apierr.From(err).Status == http.StatusNotFound {
				return contracts.Integration{}, apierr.New(http.StatusNotFound, apierr.NotFound, "the integration created with this Idempotency-Key has been deleted")
			}
			return contracts.Integration{}, err
		}
	}
	it := rec.Integration
	it.HealthStatus, it.LastHealthCheck, it.HealthChecks, it.CircuitBreaker = contracts.HealthUnknown, nil, nil, ""
	c.logger.InfoContext(ctx, "integration create replayed", "tenant_id", tenant, "integration_id", it.ID)
	return it, nil
}

// createEndpoint answers inthub.manager.integrations.create: the
// integration, with the header catalog.HeaderReplayed on a replay.
func (c *Catalog) createEndpoint(ctx context.Context, r catalog.CreateRequest) (any, error) {
	it, replayed, err := c.Create(ctx, r)
	if err != nil {
		return nil, err
	}
	if replayed {
		return bus.Replied{Value: it, Header: map[string]string{catalog.HeaderReplayed: "true"}}, nil
	}
	return it, nil
}

// traceOf is the W3C trace context of ctx, stored with a change so its
// lifecycle event continues the caller's trace.
func traceOf(ctx context.Context) map[string]string {
	h := map[string]string{}
	bus.InjectTrace(ctx, h)
	if len(h) == 0 {
		return nil
	}
	return h
}

// announced waits briefly for the outbox to have announced the change
// stored at rev, so a caller that got the answer finds its event on the
// bus; the change is stored either way.
func (c *Catalog) announced(ctx context.Context, tenant, id string, rev uint64) {
	if c.outbox == nil || c.outbox.await(ctx, rev) {
		return
	}
	c.logger.WarnContext(ctx, "lifecycle event still pending; answering", "tenant_id", tenant, "integration_id", id, "revision", rev)
}

// apply copies an input's fields onto it, storing the canonical provider id.
func apply(it *contracts.Integration, spec *connectors.Spec, in contracts.IntegrationInput) {
	it.TypeID = spec.ID
	it.Name = in.Name
	it.Description = in.Description
	it.Config = in.Config
	if it.Config == nil {
		it.Config = map[string]any{}
	}
	it.CredentialRef = in.CredentialRef
	it.Labels = in.Labels
	if it.Labels == nil {
		it.Labels = map[string]string{}
	}
}

// Get reads one integration with its health.
func (c *Catalog) Get(ctx context.Context, r catalog.GetRequest) (contracts.Integration, error) {
	if err := validTenant(r.TenantID); err != nil {
		return contracts.Integration{}, err
	}
	if err := validID(r.ID); err != nil {
		return contracts.Integration{}, err
	}
	it, err := c.store.get(ctx, r.TenantID, r.ID)
	if err != nil {
		return it, err
	}
	c.store.healthOf(ctx, &it)
	return it, nil
}

// List returns one page of the tenant's integrations matching the query.
func (c *Catalog) List(ctx context.Context, r catalog.ListRequest) (contracts.IntegrationList, error) {
	out := contracts.IntegrationList{Items: []contracts.Integration{}}
	if err := validTenant(r.TenantID); err != nil {
		return out, err
	}
	q := r.Query
	limit := q.Limit
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 0 || limit > maxPageSize:
		return out, apierr.BadRequest(apierr.InvalidQuery, "limit must be between 1 and %d", maxPageSize)
	}
	sel, err := labels.Parse(q.LabelSelector)
	if err != nil {
		return out, err
	}
	if q.HealthStatus != "" && !q.HealthStatus.Valid() {
		return out, apierr.BadRequest(apierr.InvalidQuery, "healthStatus must be healthy, degraded, unhealthy or unknown")
	}
	if q.Category != "" && !slices.Contains(connectors.Categories, connectors.Category(q.Category)) {
		return out, apierr.BadRequest(apierr.InvalidQuery, "category must be one of %v", connectors.Categories)
	}
	typeID := q.TypeID
	if typeID != "" {
		spec, ok := c.registry.Lookup(typeID)
		if !ok {
			return out, apierr.BadRequest(apierr.UnknownProvider, "provider %q is not loaded", truncate(typeID, 64))
		}
		typeID = spec.ID
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return out, err
	}
	ids, err := c.store.ids(ctx, r.TenantID)
	if err != nil {
		return out, err
	}
	start, _ := slices.BinarySearch(ids, after)
	if after != "" && start < len(ids) && ids[start] == after {
		start++
	}
	for i := start; i < len(ids); i++ {
		it, err := c.store.get(ctx, r.TenantID, ids[i])
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			continue // deleted since we listed the keys
		}
		if err != nil {
			return out, err
		}
		if !c.matches(ctx, &it, typeID, q.Category, sel, q.HealthStatus) {
			continue
		}
		if len(out.Items) == limit {
			out.NextCursor = encodeCursor(out.Items[len(out.Items)-1].ID)
			break
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

func (c *Catalog) matches(ctx context.Context, it *contracts.Integration, typeID, category string, sel labels.Selector, health contracts.HealthStatus) bool {
	if typeID != "" && it.TypeID != typeID {
		return false
	}
	if category != "" {
		spec, ok := c.registry.Lookup(it.TypeID)
		if !ok || string(spec.Category) != category {
			return false
		}
	}
	if !sel.Matches(it.Labels) {
		return false
	}
	c.store.healthOf(ctx, it)
	return health == "" || it.HealthStatus == health
}

// cursors are opaque to clients: base64url of the last id returned.
func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func decodeCursor(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || validID(string(b)) != nil {
		return "", apierr.BadRequest(apierr.InvalidCursor, "cursor is not one this API returned")
	}
	return string(b), nil
}

// Replace replaces the mutable fields (PUT). The provider cannot change.
func (c *Catalog) Replace(ctx context.Context, r catalog.ReplaceRequest) (contracts.Integration, error) {
	return c.modify(ctx, r.TenantID, r.ID, r.IfMatch, r.Actor, func(cur contracts.Integration) (contracts.IntegrationInput, error) {
		return r.Input, nil
	})
}

// Patch applies a JSON merge patch (RFC 7386) to the mutable fields.
func (c *Catalog) Patch(ctx context.Context, r catalog.PatchRequest) (contracts.Integration, error) {
	var patch map[string]any
	if err := json.Unmarshal(r.Patch, &patch); err != nil || patch == nil {
		return contracts.Integration{}, apierr.BadRequest(apierr.MalformedJSON, "a merge patch must be a JSON object")
	}
	return c.modify(ctx, r.TenantID, r.ID, r.IfMatch, r.Actor, func(cur contracts.Integration) (contracts.IntegrationInput, error) {
		doc := map[string]any{}
		base, _ := json.Marshal(contracts.IntegrationInput{
			TypeID: cur.TypeID, Name: cur.Name, Description: cur.Description,
			Config: cur.Config, CredentialRef: cur.CredentialRef, Labels: cur.Labels,
		})
		_ = json.Unmarshal(base, &doc)
		merged := mergePatch(doc, patch)
		b, _ := json.Marshal(merged)
		var in contracts.IntegrationInput
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return in, apierr.BadRequest(apierr.UnknownField, "patch: %s", apierr.JSONProblem(err))
		}
		return in, nil
	})
}

// mergePatch implements RFC 7386: null deletes, objects merge, the rest
// replaces.
func mergePatch(target, patch map[string]any) map[string]any {
	out := maps.Clone(target)
	for k, pv := range patch {
		if pv == nil {
			delete(out, k)
			continue
		}
		pm, pIsObj := pv.(map[string]any)
		tm, tIsObj := out[k].(map[string]any)
		if pIsObj && tIsObj {
			out[k] = mergePatch(tm, pm)
		} else if pIsObj {
			out[k] = mergePatch(map[string]any{}, pm)
		} else {
			out[k] = pv
		}
	}
	return out
}

// modify is the read-validate-write of Replace and Patch. With ifMatch the
// write must find that revision; without, a concurrent write makes it retry
// from a fresh read, so no update is lost.
func (c *Catalog) modify(ctx context.Context, tenant, id string, ifMatch uint64, actor *contracts.Actor, change func(contracts.Integration) (contracts.IntegrationInput, error)) (contracts.Integration, error) {
	if err := validTenant(tenant); err != nil {
		return contracts.Integration{}, err
	}
	if err := audit.CheckActor(actor); err != nil {
		return contracts.Integration{}, err
	}
	if err := validID(id); err != nil {
		return contracts.Integration{}, err
	}
	for attempt := 0; ; attempt++ {
		stored, err := c.store.getRecord(ctx, tenant, id)
		cur := stored.Integration
		if err != nil {
			return cur, err
		}
		if ifMatch != 0 && cur.Revision != ifMatch {
			return cur, preconditionFailed(cur.Revision)
		}
		in, err := change(cur)
		if err != nil {
			return cur, err
		}
		spec, err := validateInput(c.registry, in)
		if err != nil {
			return cur, err
		}
		if spec.ID != cur.TypeID {
			return cur, apierr.BadRequest(apierr.ImmutableField, "typeId cannot change (%s); create a new integration", cur.TypeID).With("field", "typeId")
		}
		if err := c.checkRefs(ctx, tenant, spec, in); err != nil {
			return cur, err
		}
		next := stored
		apply(&next.Integration, spec, in)
		next.UpdatedAt = c.now().UTC().Truncate(time.Millisecond)
		stamp := &audit.Stamp{Action: contracts.AuditUpdated, Actor: actor, Changes: auditFields(spec).Diff(cur, next.Integration)}
		rev, err := c.store.update(ctx, next, cur.Revision, traceOf(ctx), stamp)
		if errors.Is(err, errConflict) {
			if ifMatch != 0 || attempt >= 5 {
				return cur, preconditionFailed(0)
			}
			continue
		}
		if err != nil {
			return cur, fmt.Errorf("update integration: %w", err)
		}
		out := next.Integration
		out.Revision = rev
		c.announced(ctx, tenant, id, rev)
		c.store.healthOf(ctx, &out)
		c.logger.InfoContext(ctx, "integration updated", "tenant_id", tenant, "integration_id", id, "provider", out.TypeID, "revision", rev)
		return out, nil
	}
}

func preconditionFailed(current uint64) error {
	e := apierr.New(http.StatusPreconditionFailed, apierr.PreconditionFailed, "the integration changed since you read it; read it again and retry with its new ETag")
	if current != 0 {
		e = e.With("currentRevision", current)
	}
	return e
}

// Delete removes an integration; the outbox announces integration.deleted
// with its last stored version.
func (c *Catalog) Delete(ctx context.Context, r catalog.DeleteRequest) (contracts.Integration, error) {
	var none contracts.Integration
	if err := validTenant(r.TenantID); err != nil {
		return none, err
	}
	if err := validID(r.ID); err != nil {
		return none, err
	}
	if err := audit.CheckActor(r.Actor); err != nil {
		return none, err
	}
	cur, err := c.store.get(ctx, r.TenantID, r.ID)
	if err != nil {
		return none, err
	}
	if r.IfMatch != 0 && cur.Revision != r.IfMatch {
		return none, preconditionFailed(cur.Revision)
	}
	if err := c.store.remove(ctx, r.TenantID, r.ID, cur.Revision, audit.Stamp{Action: contracts.AuditDeleted, Actor: r.Actor}); errors.Is(err, errConflict) {
		return none, preconditionFailed(0)
	} else if err != nil {
		return none, fmt.Errorf("delete integration: %w", err)
	}
	if c.outbox != nil {
		if seq, err := c.outbox.lastSeq(ctx, r.TenantID, r.ID); err == nil {
			c.announced(ctx, r.TenantID, r.ID, seq)
		}
	}
	c.logger.InfoContext(ctx, "integration deleted", "tenant_id", r.TenantID, "integration_id", r.ID)
	cur.HealthStatus = contracts.HealthUnknown
	return cur, nil
}

// auditFields is how an integration's changes are recorded: every field a
// caller sets, config and labels key by key, without the values of the
// credential reference and of the config fields the provider's spec marks
// secret (they hold references too, but where a secret lives is not for
// an audit trail to spread).
func auditFields(spec *connectors.Spec) audit.Fields {
	return audit.Fields{
		Skip: []string{"id", "tenantId", "createdAt", "updatedAt", "revision",
			"healthStatus", "lastHealthCheck", "healthChecks", "circuitBreaker"},
		Expand: []string{"config", "labels"},
		Secret: func(field string) bool {
			if field == "credentialRef" {
				return true
			}
			name, ok := strings.CutPrefix(field, "config.")
			if !ok {
				return false
			}
			f := spec.Field(name)
			return f != nil && f.Secret
		},
	}
}
