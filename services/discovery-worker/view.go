package discoveryworker

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

// catalogView is the worker's read model of the integrations bucket, kept
// current by a KV watch (the health-scheduler's pattern): a discovery uses
// the integration's current revision without asking the manager.
type catalogView struct {
	mu    sync.RWMutex
	items map[string]contracts.Integration
	// changed is closed and replaced at every change, waking await.
	changed chan struct{}
}

func newCatalogView() *catalogView {
	return &catalogView{items: map[string]contracts.Integration{}, changed: make(chan struct{})}
}

func viewKey(tenantID, id string) string { return tenantID + "." + id }

// findStore finds a secret-store integration by id or unique name.
func (v *catalogView) findStore(tenantID, store string) (contracts.Integration, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return credentials.FindStore(maps.Values(v.items), tenantID, store)
}

func (v *catalogView) len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.items)
}

// await returns the integration, waiting up to timeout for the watch to
// bring it: the ingress found it in the catalog a moment ago, so a create
// racing its first discovery is seen here within the watch's latency.
func (v *catalogView) await(ctx context.Context, tenantID, id string, timeout time.Duration) (contracts.Integration, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		v.mu.RLock()
		it, ok := v.items[viewKey(tenantID, id)]
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

// change is one catalog change seen by the watch.
type change struct {
	tenantID, id string
	deleted      bool
}

// watch applies every change of the bucket to the view and reports it on
// out. It closes initialDone after the initial values and returns when ctx
// ends or the watch fails.
func (v *catalogView) watch(ctx context.Context, kv jetstream.KeyValue, out chan<- change, initialDone chan<- struct{}) error {
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
				if initialDone != nil {
					close(initialDone)
					initialDone = nil
				}
				continue
			}
			tenantID, id, found := strings.Cut(e.Key(), ".")
			if !found {
				continue
			}
			c := change{tenantID: tenantID, id: id, deleted: e.Operation() != jetstream.KeyValuePut}
			var it contracts.Integration
			if !c.deleted {
				if err := json.Unmarshal(e.Value(), &it); err != nil {
					continue
				}
				it.Revision = e.Revision()
			}
			v.apply(e.Key(), it, c.deleted)
			select {
			case out <- c:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

func (v *catalogView) apply(key string, it contracts.Integration, deleted bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if deleted {
		delete(v.items, key)
	} else {
		v.items[key] = it
	}
	close(v.changed)
	v.changed = make(chan struct{})
}
