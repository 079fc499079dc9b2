package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// DefaultStoreTimeout bounds one call to a KV bucket: well below a request's
// bound (bus.EndpointTimeout), so a store that stopped answering fails the
// call in seconds instead of holding it (and a worker) for the whole request.
const DefaultStoreTimeout = 5 * time.Second

// errConflict is a revision mismatch on write.
var errConflict = errors.New("revision conflict")

// errStoreUnavailable answers a call whose store call failed or timed out:
// the bucket, not the request, is at fault, so a retry may succeed.
var errStoreUnavailable = apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the catalog store is not answering; retry shortly")

// kvStore keeps integrations in a JetStream KV bucket under
// <tenantId>.<integrationId>; the entry revision is the ETag. Each call to
// a bucket has its own bound, timeout.
type kvStore struct {
	js      jetstream.JetStream
	kv      jetstream.KeyValue
	timeout time.Duration
	mu      sync.Mutex
	health  jetstream.KeyValue // nil until the health-scheduler created it
}

// record is what the bucket holds for one integration: the integration
// without health or revision, and what the lifecycle outbox needs to
// announce the change.
type record struct {
	contracts.Integration
	// Version is 1 when the integration is created and one more at each
	// update: it tells the outbox integration.created from
	// integration.updated. 0 is a record written by something other than
	// this manager; the outbox then asks the key's history.
	Version uint64 `json:"version,omitempty"`
	// Trace is the W3C trace context of the call that wrote the record, so
	// the lifecycle event continues the caller's trace.
	Trace map[string]string `json:"trace,omitempty"`
	// Audit says who made the change and which fields it set, for its
	// audit record and lifecycle event; stored with the change so the
	// outbox finds it even when the writer died right after the write.
	Audit *audit.Stamp `json:"audit,omitempty"`
}

func key(tenant, id string) string { return tenant + "." + id }

// bound is ctx limited to one store call.
func (s *kvStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// unavailable wraps a failed store call: 503 to the caller, the cause in
// the log.
func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, errStoreUnavailable, err)
}

// get reads one integration; not found is apierr 404.
func (s *kvStore) get(ctx context.Context, tenant, id string) (contracts.Integration, error) {
	rec, err := s.getRecord(ctx, tenant, id)
	return rec.Integration, err
}

// getRecord reads one integration's record.
func (s *kvStore) getRecord(ctx context.Context, tenant, id string) (record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	e, err := s.kv.Get(ctx, key(tenant, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, apierr.New(http.StatusNotFound, apierr.NotFound, "integration not found")
	}
	if err != nil {
		return record{}, unavailable("read integration", err)
	}
	return decode(e.Key(), e.Value(), e.Revision())
}

// getRevision reads the version of an integration stored at rev, also
// after later changes or its deletion while the bucket's history holds it.
func (s *kvStore) getRevision(ctx context.Context, tenant, id string, rev uint64) (record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	e, err := s.kv.GetRevision(ctx, key(tenant, id), rev)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, apierr.New(http.StatusNotFound, apierr.NotFound, "integration not found")
	}
	if err != nil {
		return record{}, unavailable("read integration revision", err)
	}
	return decode(e.Key(), e.Value(), e.Revision())
}

func decode(k string, value []byte, rev uint64) (record, error) {
	var rec record
	if err := json.Unmarshal(value, &rec); err != nil {
		return rec, fmt.Errorf("decode integration %s: %w", k, err)
	}
	rec.Revision = rev
	return rec, nil
}

func encode(rec record) ([]byte, error) {
	// Health is the health-scheduler's; it is joined at read, never stored here.
	rec.HealthStatus, rec.LastHealthCheck, rec.Revision = "", nil, 0
	rec.HealthChecks, rec.CircuitBreaker = nil, ""
	return json.Marshal(rec)
}

// create stores a new integration (version 1) and returns its revision. The
// key must never have been written: a deleted integration's id is not
// reused, so a retried create cannot bring back what was deleted.
func (s *kvStore) create(ctx context.Context, it contracts.Integration, trace map[string]string, stamp *audit.Stamp) (uint64, error) {
	b, err := encode(record{Integration: it, Version: 1, Trace: trace, Audit: stamp})
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rev, err := s.kv.Update(ctx, key(it.TenantID, it.ID), b, 0)
	if isWrongSequence(err) {
		return 0, errConflict
	}
	if err != nil {
		return 0, unavailable("create integration", err)
	}
	return rev, nil
}

// update writes rec as the next version if the stored revision is still rev.
func (s *kvStore) update(ctx context.Context, rec record, rev uint64, trace map[string]string, stamp *audit.Stamp) (uint64, error) {
	rec.Version = max(rec.Version, 1) + 1
	rec.Trace, rec.Audit = trace, stamp
	b, err := encode(rec)
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	n, err := s.kv.Update(ctx, key(rec.TenantID, rec.ID), b, rev)
	if isWrongSequence(err) {
		return 0, errConflict
	}
	if err != nil {
		return 0, unavailable("update integration", err)
	}
	return n, nil
}

// remove deletes the entry if the stored revision is still rev; the delete
// marker carries stamp (who deleted it) for the outbox.
func (s *kvStore) remove(ctx context.Context, tenant, id string, rev uint64, stamp audit.Stamp) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := audit.Delete(ctx, s.js, catalog.BucketIntegrations, key(tenant, id), rev, stamp)
	if isWrongSequence(err) {
		return errConflict
	}
	if err != nil {
		return unavailable("delete integration", err)
	}
	return nil
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// ids returns the tenant's integration ids, sorted. Ids are UUIDv7, so the
// order is creation order. It may name an integration deleted meanwhile:
// callers read each id and skip not found.
func (s *kvStore) ids(ctx context.Context, tenant string) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	keys, err := bus.BucketKeys(ctx, s.js, s.kv, tenant+".*")
	if err != nil {
		return nil, unavailable("list keys", err)
	}
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, tenant+".")
	}
	return keys, nil
}

// healthOf joins the health-scheduler's record; unknown when there is none
// (or the health bucket does not answer within the bound).
func (s *kvStore) healthOf(ctx context.Context, it *contracts.Integration) {
	it.HealthStatus = contracts.HealthUnknown
	ctx, cancel := s.bound(ctx)
	defer cancel()
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
	catalog.JoinHealth(it, e.Value())
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
