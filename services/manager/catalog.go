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
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/labels"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Page sizes of list calls.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// Catalog is the manager's logic: the type registry and integration
// instances, validated, stored with optimistic concurrency, and announced as
// lifecycle events.
type Catalog struct {
	registry *connectors.Registry
	local    credentials.LocalPolicy
	store    *kvStore
	// pub publishes only what the manager's route table declares.
	pub    *bus.Producer
	logger *slog.Logger
	now    func() time.Time
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

// Create validates and stores a new integration, then publishes
// integration.created.
func (c *Catalog) Create(ctx context.Context, r catalog.CreateRequest) (contracts.Integration, error) {
	if err := validTenant(r.TenantID); err != nil {
		return contracts.Integration{}, err
	}
	spec, err := validateInput(c.registry, r.Input)
	if err != nil {
		return contracts.Integration{}, err
	}
	if err := c.checkRefs(ctx, r.TenantID, spec, r.Input); err != nil {
		return contracts.Integration{}, err
	}
	now := c.now().UTC().Truncate(time.Millisecond)
	it := contracts.Integration{
		ID: uuid.Must(uuid.NewV7()).String(), TenantID: r.TenantID, CreatedAt: now, UpdatedAt: now,
	}
	apply(&it, spec, r.Input)
	rev, err := c.store.create(ctx, it)
	if err != nil {
		return contracts.Integration{}, fmt.Errorf("create integration: %w", err)
	}
	it.Revision = rev
	it.HealthStatus = contracts.HealthUnknown
	if err := c.announce(ctx, contracts.SubjectCreated, it); err != nil {
		return contracts.Integration{}, err
	}
	c.logger.InfoContext(ctx, "integration created", "tenant_id", it.TenantID, "integration_id", it.ID, "provider", it.TypeID)
	return it, nil
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
	return c.modify(ctx, r.TenantID, r.ID, r.IfMatch, func(cur contracts.Integration) (contracts.IntegrationInput, error) {
		return r.Input, nil
	})
}

// Patch applies a JSON merge patch (RFC 7386) to the mutable fields.
func (c *Catalog) Patch(ctx context.Context, r catalog.PatchRequest) (contracts.Integration, error) {
	var patch map[string]any
	if err := json.Unmarshal(r.Patch, &patch); err != nil || patch == nil {
		return contracts.Integration{}, apierr.BadRequest(apierr.MalformedJSON, "a merge patch must be a JSON object")
	}
	return c.modify(ctx, r.TenantID, r.ID, r.IfMatch, func(cur contracts.Integration) (contracts.IntegrationInput, error) {
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
func (c *Catalog) modify(ctx context.Context, tenant, id string, ifMatch uint64, change func(contracts.Integration) (contracts.IntegrationInput, error)) (contracts.Integration, error) {
	if err := validTenant(tenant); err != nil {
		return contracts.Integration{}, err
	}
	if err := validID(id); err != nil {
		return contracts.Integration{}, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := c.store.get(ctx, tenant, id)
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
		next := cur
		apply(&next, spec, in)
		next.UpdatedAt = c.now().UTC().Truncate(time.Millisecond)
		rev, err := c.store.update(ctx, next, cur.Revision)
		if errors.Is(err, errConflict) {
			if ifMatch != 0 || attempt >= 5 {
				return cur, preconditionFailed(0)
			}
			continue
		}
		if err != nil {
			return cur, fmt.Errorf("update integration: %w", err)
		}
		next.Revision = rev
		if err := c.announce(ctx, contracts.SubjectUpdated, next); err != nil {
			return next, err
		}
		c.store.healthOf(ctx, &next)
		c.logger.InfoContext(ctx, "integration updated", "tenant_id", tenant, "integration_id", id, "provider", next.TypeID, "revision", rev)
		return next, nil
	}
}

func preconditionFailed(current uint64) error {
	e := apierr.New(http.StatusPreconditionFailed, apierr.PreconditionFailed, "the integration changed since you read it; read it again and retry with its new ETag")
	if current != 0 {
		e = e.With("currentRevision", current)
	}
	return e
}

// Delete removes an integration and publishes integration.deleted with its
// last stored version.
func (c *Catalog) Delete(ctx context.Context, r catalog.DeleteRequest) (contracts.Integration, error) {
	var none contracts.Integration
	if err := validTenant(r.TenantID); err != nil {
		return none, err
	}
	if err := validID(r.ID); err != nil {
		return none, err
	}
	cur, err := c.store.get(ctx, r.TenantID, r.ID)
	if err != nil {
		return none, err
	}
	if r.IfMatch != 0 && cur.Revision != r.IfMatch {
		return none, preconditionFailed(cur.Revision)
	}
	if err := c.store.remove(ctx, r.TenantID, r.ID, cur.Revision); errors.Is(err, errConflict) {
		return none, preconditionFailed(0)
	} else if err != nil {
		return none, fmt.Errorf("delete integration: %w", err)
	}
	if err := c.announce(ctx, contracts.SubjectDeleted, cur); err != nil {
		return none, err
	}
	c.logger.InfoContext(ctx, "integration deleted", "tenant_id", r.TenantID, "integration_id", r.ID)
	cur.HealthStatus = contracts.HealthUnknown
	return cur, nil
}

// announce publishes a lifecycle event. Its id is <kind>:<id>:<revision>, so
// a retried publish of the same change is stored once (Nats-Msg-Id dedupe).
func (c *Catalog) announce(ctx context.Context, prefix string, it contracts.Integration) error {
	id := fmt.Sprintf("%s:%s:%d", prefix, it.ID, it.Revision)
	ev := contracts.LifecycleEvent{EventID: id, TenantID: it.TenantID, Integration: it, OccurredAt: c.now().UTC()}
	ev.Integration.HealthStatus = contracts.HealthUnknown
	err := resilience.Do(ctx, resilience.Policy{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, MaxAttempts: 5, Multiplier: 2, RandomizationFactor: 0.3, MaxElapsed: 10 * time.Second},
		func(ctx context.Context) error {
			_, err := c.pub.Publish(ctx, bus.Event{
				ID: id, Subject: contracts.Subject(prefix, it.TenantID, it.ID),
				TenantID: it.TenantID, DataSubject: it.ID, Data: ev,
			})
			return resilience.Wrap(resilience.ConnectionRefused, err, "publish lifecycle event")
		})
	if err != nil {
		// The change is stored; say so rather than pretend it failed.
		c.logger.ErrorContext(ctx, "lifecycle event not published", "tenant_id", it.TenantID, "integration_id", it.ID, "subject", prefix, "error", err.Error())
		return apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the change was stored but its event could not be published; retry the call")
	}
	return nil
}
