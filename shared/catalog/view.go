package catalog

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
)

// ChangeKind says what happened to an integration.
type ChangeKind int

// The kinds of change a View reports.
const (
	Created ChangeKind = iota + 1
	Updated
	Deleted
)

// String names the kind, as in the lifecycle events.
func (k ChangeKind) String() string {
	switch k {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "unknown"
}

// Change is one change of the integrations bucket as a View applied it.
type Change struct {
	Kind         ChangeKind
	TenantID, ID string
	// Integration is the stored integration with its Revision set; on a
	// delete, the last one the view held (zero if it held none).
	Integration contracts.Integration
	// Revision is the bucket revision of the change.
	Revision uint64
	// Live is false for the values replayed when the watch starts.
	Live bool
}

// Key is the change's bucket key, <tenantId>.<integrationId>.
func (c Change) Key() string { return c.TenantID + "." + c.ID }

// View is a service's read model of the integrations bucket, kept current
// by a KV watch: integrations created, changed and deleted take effect
// within the watch's latency, without asking the manager. It is what the
// health-scheduler, the discovery-worker and the notifier read.
type View struct {
	// OnChange, if set, is called for every change after the view applied
	// it, with the watch's context, on the watch's goroutine and outside
	// the lock: a slow callback slows the watch, which is the back-pressure
	// a consumer wants; it must return when the context ends.
	OnChange func(context.Context, Change)

	mu       sync.RWMutex
	byTenant map[string]map[string]contracts.Integration
	n        int
	// changed is closed and replaced at every change, waking Await.
	changed chan struct{}
	ready   chan struct{}
	once    sync.Once
}

// NewView returns an empty view; Watch fills it.
func NewView() *View {
	return &View{byTenant: map[string]map[string]contracts.Integration{}, changed: make(chan struct{}), ready: make(chan struct{})}
}

// Get returns the integration id of tenantID.
func (v *View) Get(tenantID, id string) (contracts.Integration, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	it, ok := v.byTenant[tenantID][id]
	return it, ok
}

// FindStore finds a secret-store integration of tenantID by id or unique
// name (credentials.FindStore), for references to a secret store.
func (v *View) FindStore(tenantID, store string) (contracts.Integration, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return credentials.FindStore(maps.Values(v.byTenant[tenantID]), tenantID, store)
}

// Len is the number of integrations the view holds.
func (v *View) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.n
}

// All calls yield for each integration (every tenant, in no order) until
// it returns false. It holds the read lock: yield must not call the view.
func (v *View) All(yield func(contracts.Integration) bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, its := range v.byTenant {
		for _, it := range its {
			if !yield(it) {
				return
			}
		}
	}
}

// Ready is closed once the watch has replayed the bucket's current values.
func (v *View) Ready() <-chan struct{} { return v.ready }

// Await returns the integration, waiting up to timeout for the watch to
// bring it: a caller that found it in the catalog a moment ago sees a
// create racing the watch within the watch's latency.
func (v *View) Await(ctx context.Context, tenantID, id string, timeout time.Duration) (contracts.Integration, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		v.mu.RLock()
		it, ok := v.byTenant[tenantID][id]
		changed := v.changed
		v.mu.RUnlock()
		if ok {
			return it, true
		}
		select {
		case <-changed:
		case <-timer.C:
			return contracts.Integration{}, false
		case <-ctx.Done():
			return contracts.Integration{}, false
		}
	}
}

// Watch replays the bucket into the view, closes Ready, then follows it
// until ctx ends (nil) or the watch fails. Keys that are not
// <tenantId>.<integrationId> and values that do not decode are skipped.
func (v *View) Watch(ctx context.Context, kv jetstream.KeyValue) error {
	live := false
	return Follow(ctx, kv, func(e jetstream.KeyValueEntry) {
		if c, ok := v.apply(e, live); ok && v.OnChange != nil {
			v.OnChange(ctx, c)
		}
	}, func() {
		live = true
		v.once.Do(func() { close(v.ready) })
	})
}

// Follow replays a bucket and then follows it, calling apply for each entry
// (puts and deletes alike) and replayed once the replay is done. It returns
// when ctx ends (nil) or the watch fails. Every read model of a bucket
// (the catalog View, the notifier's rules) is kept by it.
func Follow(ctx context.Context, kv jetstream.KeyValue, apply func(jetstream.KeyValueEntry), replayed func()) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return ctx.Err()
			}
			if e == nil { // end of the initial values
				if replayed != nil {
					replayed()
					replayed = nil
				}
				continue
			}
			apply(e)
		}
	}
}

// apply applies one bucket entry; false when it is not an integration.
func (v *View) apply(e jetstream.KeyValueEntry, live bool) (Change, bool) {
	tenantID, id, found := strings.Cut(e.Key(), ".")
	if !found || tenantID == "" || id == "" || strings.Contains(id, ".") {
		return Change{}, false
	}
	c := Change{TenantID: tenantID, ID: id, Revision: e.Revision(), Live: live}
	deleted := e.Operation() != jetstream.KeyValuePut
	if !deleted {
		if err := json.Unmarshal(e.Value(), &c.Integration); err != nil {
			return Change{}, false
		}
		c.Integration.Revision = e.Revision()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	its := v.byTenant[tenantID]
	old, had := its[id]
	switch {
	case deleted:
		c.Kind, c.Integration = Deleted, old
		if had {
			delete(its, id)
			v.n--
			if len(its) == 0 {
				delete(v.byTenant, tenantID)
			}
		}
	default:
		c.Kind = Created
		if had {
			c.Kind = Updated
		} else {
			v.n++
		}
		if its == nil {
			its = map[string]contracts.Integration{}
			v.byTenant[tenantID] = its
		}
		its[id] = c.Integration
	}
	close(v.changed)
	v.changed = make(chan struct{})
	return c, true
}
