package ingress

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// readModel answers reads of single integrations from memory: a catalog
// View of the integrations bucket and a copy of the health bucket's records,
// both kept by KV watches. It is derived state only (the buckets are the
// record and the manager their only writer), so the ingress stays
// stateless: a restarted replica replays the buckets. A key the view does
// not hold yet is read from the bucket; what the bucket does not hold
// either is asked of the manager, which answers as it always did.
//
// Read-your-writes: a write through this ingress records the revision it
// made (pending); until the view has applied it, reads of that key go to
// the manager, so a caller never reads an older version than the one it
// wrote. Writes through another replica are seen once its watch has them
// (typically within a millisecond).
type readModel struct {
	view *catalog.View

	hmu    sync.RWMutex
	health map[string]catalog.Health
	// healthReady is closed once the health bucket is replayed.
	healthReady chan struct{}

	pmu     sync.Mutex
	pending map[string]pendingWrite
	now     func() time.Time
}

// pendingWrite is a write whose revision the view has not applied yet.
type pendingWrite struct {
	rev uint64
	at  time.Time
}

// pendingTTL bounds how long a write is tracked: far above a watch's lag;
// after it the view serves the key again whatever it holds.
const pendingTTL = time.Minute

// maxPendingSweep is the number of pending writes past which a write looks
// for expired ones (normally the view forgets them within milliseconds).
const maxPendingSweep = 1024

func newReadModel() *readModel {
	m := &readModel{view: catalog.NewView(), health: map[string]catalog.Health{}, healthReady: make(chan struct{}),
		pending: map[string]pendingWrite{}, now: time.Now}
	// The view's own callback serves a view the read model is given to
	// watch directly; a service's wiring replaces the view with its catalog
	// (shared or its own) and subscribes onChange instead.
	m.view.OnChange = m.onChange
	return m
}

// onChange follows the view's changes: a write is no longer pending once
// the view has applied it.
func (m *readModel) onChange(_ context.Context, c catalog.Change) { m.applied(c.Key(), c.Revision) }

// followHealth keeps the copy of the health bucket until ctx ends.
func (m *readModel) followHealth(ctx context.Context, kv jetstream.KeyValue) error {
	return catalog.Follow(ctx, kv, func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			m.hmu.Lock()
			delete(m.health, e.Key())
			m.hmu.Unlock()
			return
		}
		// Decoded once here, not at every read.
		h := catalog.DecodeHealth(e.Value())
		m.hmu.Lock()
		m.health[e.Key()] = h
		m.hmu.Unlock()
	}, func() { close(m.healthReady) })
}

// wrote records that a write through this ingress made key's revision rev
// (for a delete, one more than the deleted version's: the delete's own
// revision is at least that).
func (m *readModel) wrote(tenantID, id string, rev uint64) {
	if m == nil {
		return
	}
	now := m.now()
	m.pmu.Lock()
	defer m.pmu.Unlock()
	if len(m.pending) >= maxPendingSweep {
		// The watch is far behind (or stopped): drop what has expired.
		for k, p := range m.pending {
			if now.Sub(p.at) > pendingTTL {
				delete(m.pending, k)
			}
		}
	}
	m.pending[tenantID+"."+id] = pendingWrite{rev: rev, at: now}
}

// applied forgets a pending write once the view has applied its revision.
func (m *readModel) applied(key string, rev uint64) {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	if p, ok := m.pending[key]; ok && rev >= p.rev {
		delete(m.pending, key)
	}
}

// get returns tenantID's integration id with its health, when the view can
// answer for it; ok false sends the read to the manager.
func (m *readModel) get(ctx context.Context, tenantID, id string) (contracts.Integration, bool) {
	if m == nil {
		return contracts.Integration{}, false
	}
	it, ok := m.integration(ctx, tenantID, id)
	if !ok {
		return it, false
	}
	m.hmu.RLock()
	h := m.health[tenantID+"."+id]
	m.hmu.RUnlock()
	h.Join(&it)
	return it, true
}

// integration is get without the health: what the discover endpoint needs.
// Its Config and Labels are the view's: read them, never change them. A
// key the view does not hold yet (a create a moment ago) is read from the
// bucket (View.Lookup); one the bucket does not hold either, or cannot be
// read, is the manager's to answer.
func (m *readModel) integration(ctx context.Context, tenantID, id string) (contracts.Integration, bool) {
	if m == nil || tenantID == "" || id == "" || strings.ContainsAny(tenantID+id, ".*> \t\r\n") {
		return contracts.Integration{}, false
	}
	key := tenantID + "." + id
	// The pending write first, then the view: the view applies a revision
	// before the write is forgotten, so a write missing here is in the view.
	m.pmu.Lock()
	p, waiting := m.pending[key]
	m.pmu.Unlock()
	it, ok := m.view.Get(tenantID, id)
	if !ok {
		var err error
		if it, ok, err = m.view.Lookup(ctx, tenantID, id); err != nil || !ok {
			return contracts.Integration{}, false
		}
	}
	if waiting && it.Revision < p.rev && m.now().Sub(p.at) <= pendingTTL {
		return contracts.Integration{}, false
	}
	return it, true
}
