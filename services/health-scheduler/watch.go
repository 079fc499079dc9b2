package healthscheduler

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
)

// change is one catalog change seen by the watch.
type change struct {
	key     string
	it      contracts.Integration // zero when deleted
	deleted bool
	// live is false for the initial values replayed at start.
	live bool
}

// catalogView is the scheduler's read model of the integrations bucket, kept
// current by a KV watch: new, changed and deleted integrations take effect
// within the watch's latency, without a restart.
type catalogView struct {
	mu    sync.RWMutex
	items map[string]contracts.Integration
}

func (v *catalogView) get(tenantID, id string) (contracts.Integration, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	it, ok := v.items[tenantID+"."+id]
	return it, ok
}

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

// watch applies every change to the view and hands it to out. It returns
// when ctx ends or the watch fails.
func (v *catalogView) watch(ctx context.Context, kv jetstream.KeyValue, out chan<- change, initialDone chan<- struct{}) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	live := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return ctx.Err()
			}
			if e == nil { // end of the initial values
				live = true
				if initialDone != nil {
					close(initialDone)
					initialDone = nil
				}
				continue
			}
			c := change{key: e.Key(), live: live}
			if e.Operation() != jetstream.KeyValuePut {
				c.deleted = true
			} else if err := json.Unmarshal(e.Value(), &c.it); err != nil || !strings.Contains(e.Key(), ".") {
				continue
			} else {
				c.it.Revision = e.Revision()
			}
			v.mu.Lock()
			if c.deleted {
				delete(v.items, c.key)
			} else {
				v.items[c.key] = c.it
			}
			v.mu.Unlock()
			select {
			case out <- c:
			case <-ctx.Done():
				return nil
			}
		}
	}
}
