package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

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
	// read, when set, reads one key of the rules bucket: lookup asks the
	// store before it calls a rule missing, as the watch may lag (a rule
	// saved a moment ago, a reconnect).
	read func(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
}

// readTimeout bounds lookup's read of the bucket.
const readTimeout = 5 * time.Second

// errRuleStore says the rules bucket could not be read: the caller retries
// rather than calling the rule missing.
var errRuleStore = errors.New("notification rules cannot be read")

// lookup returns one rule of a tenant: from the view, else from the bucket
// (the rule is then kept in the view). found is false only when the bucket
// says the rule does not exist; a failed read is an error.
func (v *ruleView) lookup(ctx context.Context, tenantID, id string) (*compiledRule, bool, error) {
	if r, ok := v.get(tenantID, id); ok || v.read == nil {
		return r, ok, nil
	}
	if strings.ContainsAny(tenantID+id, ".*> ") {
		return nil, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	e, err := v.read(ctx, tenantID+"."+id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("%w: %v", errRuleStore, err)
	}
	v.putIfAbsent(e.Key(), e.Value(), e.Revision())
	r, ok := v.get(tenantID, id)
	return r, ok, nil
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

func (v *ruleView) put(key string, value []byte, rev uint64) { v.store(key, value, rev, false) }

// putIfAbsent keeps a rule read from the bucket unless the watch has put
// one (of that or a newer revision) meanwhile.
func (v *ruleView) putIfAbsent(key string, value []byte, rev uint64) { v.store(key, value, rev, true) }

func (v *ruleView) store(key string, value []byte, rev uint64, ifAbsent bool) {
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
	if cur, have := v.byTenant[tenant][r.ID]; ifAbsent && have && cur.rule.Revision >= rev {
		return
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
