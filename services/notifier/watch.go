package notifier

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

// watchBucket replays a bucket and then follows it, calling put for each
// stored value and del for each deleted key, and closes initial once the
// replay is done. It returns when ctx ends or the watch fails. The pattern
// is the health-scheduler's (services share no code).
func watchBucket(ctx context.Context, kv jetstream.KeyValue, put func(key string, value []byte, rev uint64), del func(key string), initial chan<- struct{}) error {
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
				if initial != nil {
					close(initial)
					initial = nil
				}
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				del(e.Key())
				continue
			}
			put(e.Key(), e.Value(), e.Revision())
		}
	}
}

// catalogView is the notifier's read model of the integrations bucket: the
// targets a delivery goes through and the integrations events are about.
type catalogView struct {
	mu    sync.RWMutex
	items map[string]contracts.Integration
	// onDelete is called (outside the lock) for a deleted key.
	onDelete func(tenantID, id string)
}

func newCatalogView() *catalogView {
	return &catalogView{items: map[string]contracts.Integration{}}
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

func (v *catalogView) put(key string, value []byte, rev uint64) {
	var it contracts.Integration
	if json.Unmarshal(value, &it) != nil || !strings.Contains(key, ".") {
		return
	}
	it.Revision = rev
	v.mu.Lock()
	v.items[key] = it
	v.mu.Unlock()
}

func (v *catalogView) del(key string) {
	v.mu.Lock()
	delete(v.items, key)
	v.mu.Unlock()
	if tenant, id, ok := strings.Cut(key, "."); ok && v.onDelete != nil {
		v.onDelete(tenant, id)
	}
}

// ruleView holds every tenant's rules, compiled, kept current by a watch of
// the rules bucket: a saved rule routes the next event without a restart.
type ruleView struct {
	mu       sync.RWMutex
	byTenant map[string]map[string]*compiledRule
	// onBroken is told about a stored rule that no longer compiles (it is
	// validated on save, so only a downgrade gets here).
	onBroken func(key string, err error)
}

func newRuleView() *ruleView {
	return &ruleView{byTenant: map[string]map[string]*compiledRule{}}
}

func (v *ruleView) put(key string, value []byte, rev uint64) {
	tenant, _, ok := strings.Cut(key, ".")
	if !ok {
		return
	}
	var r contracts.NotificationRule
	if err := json.Unmarshal(value, &r); err != nil {
		if v.onBroken != nil {
			v.onBroken(key, err)
		}
		return
	}
	r.Revision = rev
	cr, err := compileRule(r)
	if err != nil {
		if v.onBroken != nil {
			v.onBroken(key, err)
		}
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byTenant[tenant] == nil {
		v.byTenant[tenant] = map[string]*compiledRule{}
	}
	v.byTenant[tenant][r.ID] = cr
}

func (v *ruleView) del(key string) {
	tenant, id, ok := strings.Cut(key, ".")
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.byTenant[tenant], id)
}

// get returns one rule of a tenant.
func (v *ruleView) get(tenantID, id string) (*compiledRule, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	r, ok := v.byTenant[tenantID][id]
	return r, ok
}

// tenant returns a tenant's rules.
func (v *ruleView) tenant(tenantID string) []*compiledRule {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]*compiledRule, 0, len(v.byTenant[tenantID]))
	for _, r := range v.byTenant[tenantID] {
		out = append(out, r)
	}
	return out
}

// count is the number of rules of every tenant.
func (v *ruleView) count() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	n := 0
	for _, rs := range v.byTenant {
		n += len(rs)
	}
	return n
}
