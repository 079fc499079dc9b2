package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// errConflict is a revision mismatch on write.
var errConflict = errors.New("revision conflict")

// kvStore keeps integrations in a JetStream KV bucket under
// <tenantId>.<integrationId>; the entry revision is the ETag.
type kvStore struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	mu     sync.Mutex
	health jetstream.KeyValue // nil until the health-scheduler created it
}

func key(tenant, id string) string { return tenant + "." + id }

// get reads one integration; not found is apierr 404.
func (s *kvStore) get(ctx context.Context, tenant, id string) (contracts.Integration, error) {
	e, err := s.kv.Get(ctx, key(tenant, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return contracts.Integration{}, apierr.New(http.StatusNotFound, apierr.NotFound, "integration not found")
	}
	if err != nil {
		return contracts.Integration{}, fmt.Errorf("read integration: %w", err)
	}
	return decode(e)
}

func decode(e jetstream.KeyValueEntry) (contracts.Integration, error) {
	var it contracts.Integration
	if err := json.Unmarshal(e.Value(), &it); err != nil {
		return it, fmt.Errorf("decode integration %s: %w", e.Key(), err)
	}
	it.Revision = e.Revision()
	return it, nil
}

func encode(it contracts.Integration) ([]byte, error) {
	// Health is the health-scheduler's; it is joined at read, never stored here.
	it.HealthStatus, it.LastHealthCheck, it.Revision = "", nil, 0
	return json.Marshal(it)
}

// create stores a new integration and returns its revision.
func (s *kvStore) create(ctx context.Context, it contracts.Integration) (uint64, error) {
	b, err := encode(it)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, key(it.TenantID, it.ID), b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, errConflict
	}
	return rev, err
}

// update writes it if the stored revision is still rev.
func (s *kvStore) update(ctx context.Context, it contracts.Integration, rev uint64) (uint64, error) {
	b, err := encode(it)
	if err != nil {
		return 0, err
	}
	n, err := s.kv.Update(ctx, key(it.TenantID, it.ID), b, rev)
	if isWrongSequence(err) {
		return 0, errConflict
	}
	return n, err
}

// remove deletes the entry if the stored revision is still rev.
func (s *kvStore) remove(ctx context.Context, tenant, id string, rev uint64) error {
	err := s.kv.Delete(ctx, key(tenant, id), jetstream.LastRevision(rev))
	if isWrongSequence(err) {
		return errConflict
	}
	return err
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// ids returns the tenant's integration ids, sorted. Ids are UUIDv7, so the
// order is creation order.
func (s *kvStore) ids(ctx context.Context, tenant string) ([]string, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, tenant+".*")
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	var out []string
	for k := range lister.Keys() {
		out = append(out, strings.TrimPrefix(k, tenant+"."))
	}
	// The lister stops itself once it delivered every key; Stop then only
	// reports the closed subscription.
	_ = lister.Stop()
	slices.Sort(out)
	return out, nil
}

// healthOf joins the health-scheduler's record; unknown when there is none.
func (s *kvStore) healthOf(ctx context.Context, it *contracts.Integration) {
	it.HealthStatus = contracts.HealthUnknown
	s.mu.Lock()
	if s.health == nil {
		if kv, err := s.js.KeyValue(ctx, catalog.BucketHealth); err == nil {
			s.health = kv
		}
	}
	health := s.health
	s.mu.Unlock()
	if health == nil {
		return
	}
	e, err := health.Get(ctx, key(it.TenantID, it.ID))
	if err != nil {
		return
	}
	var h contracts.IntegrationHealth
	if json.Unmarshal(e.Value(), &h) != nil || !h.Status.Valid() {
		return
	}
	it.HealthStatus = h.Status
	if h.LastCheck != nil {
		t := h.LastCheck.UTC().Truncate(time.Millisecond)
		it.LastHealthCheck = &t
	}
}

// tenantIntegrations yields the tenant's integrations for
// credentials.FindStore: the one whose id is first (if any) before the
// others, so that a reference naming its store by id costs one read (FindStore
// stops at an id match); one by name reads them all, as it must to know the
// name is unique. A failed read stops the sequence and is left in *errp.
func (s *kvStore) tenantIntegrations(ctx context.Context, tenant, first string, errp *error) iter.Seq[contracts.Integration] {
	return func(yield func(contracts.Integration) bool) {
		if validID(first) == nil {
			it, err := s.get(ctx, tenant, first)
			switch {
			case err == nil:
				if !yield(it) {
					return
				}
			case apierr.From(err).Status != http.StatusNotFound:
				*errp = err
				return
			}
		}
		ids, err := s.ids(ctx, tenant)
		if err != nil {
			*errp = err
			return
		}
		for _, id := range ids {
			if id == first {
				continue
			}
			it, err := s.get(ctx, tenant, id)
			if apierr.From(err).Status == http.StatusNotFound {
				continue // deleted since we listed the keys
			}
			if err != nil {
				*errp = err
				return
			}
			if !yield(it) {
				return
			}
		}
	}
}
