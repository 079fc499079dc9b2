package notifier

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
)

// ruleView holds every tenant's rules, compiled, kept current by a watch of
// the rules bucket (catalog.Follow): a saved rule routes the next event
// without a restart.
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

// apply applies one entry of the rules bucket.
func (v *ruleView) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		v.del(e.Key())
		return
	}
	v.put(e.Key(), e.Value(), e.Revision())
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
