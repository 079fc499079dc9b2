package catalog

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
// health-scheduler, the discovery-worker and the notifier read. Several
// services in one process (the all-in-one) share one View, one watch and
// one decoded catalog: each follows its changes with Subscribe.
type View struct {
	// OnChange, if set, is called for every change after the view applied
	// it, with the watch's context, on the watch's goroutine and outside
	// the lock: a slow callback slows the watch, which is the back-pressure
	// a consumer wants; it must return when the context ends.
	OnChange func(context.Context, Change)

	mu       sync.RWMutex
	byTenant map[string]map[string]entry
	// names interns tenant and type ids (under mu).
	names interned
	n     int
	// kv is the watched bucket, read by Lookup on a miss.
	kv jetstream.KeyValue
	// seen is the highest bucket revision the watch has applied.
	seen uint64
	// read holds the keys Lookup put in the view from the bucket that the
	// watch has not reached yet: the watch reports them as created.
	read map[string]bool
	// changed is closed and replaced at every change, waking Await.
	changed chan struct{}
	ready   chan struct{}
	once    sync.Once

	// fmu orders the watch's apply-and-hand-out of each change with a
	// subscriber's joining, so a subscriber sees every change exactly once:
	// in the snapshot it starts from or handed to it afterwards.
	fmu  sync.Mutex
	subs []*subscriber
	// replayed is set (under fmu) once the watch has replayed the bucket.
	replayed bool
}

// subscriber is one Subscribe call: the watch hands it changes on feed.
type subscriber struct {
	done <-chan struct{}
	feed chan fanned
}

// fanned is a change handed to a subscriber, or (replayed) the end of the
// watch's replay.
type fanned struct {
	c        Change
	replayed bool
}

// NewView returns an empty view; Watch fills it.
func NewView() *View {
	return &View{byTenant: map[string]map[string]entry{}, names: interned{}, read: map[string]bool{}, changed: make(chan struct{}), ready: make(chan struct{})}
}

// Get returns the integration id of tenantID.
func (v *View) Get(tenantID, id string) (contracts.Integration, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	e, ok := v.byTenant[tenantID][id]
	if !ok {
		return contracts.Integration{}, false
	}
	return e.integration(), true
}

// Revision returns the bucket revision of the integration id of tenantID
// that the view holds, without decoding its config and labels (Get does):
// enough for a reader that asks only whether it is still there, or still
// of the revision it read, or whether what it derived from that revision
// still holds.
func (v *View) Revision(tenantID, id string) (uint64, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	e, ok := v.byTenant[tenantID][id]
	return e.it.Revision, ok
}

// FindStore finds a secret-store integration of tenantID by id or unique
// name (credentials.FindStore), for references to a secret store.
func (v *View) FindStore(tenantID, store string) (contracts.Integration, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	// FindStore matches on ids and names only: the maps are decoded for
	// the one it picks.
	its := v.byTenant[tenantID]
	found, ok := credentials.FindStore(func(yield func(contracts.Integration) bool) {
		for _, e := range its {
			if !yield(e.it) {
				return
			}
		}
	}, tenantID, store)
	if !ok {
		return found, false
	}
	return its[found.ID].integration(), true
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
		for _, e := range its {
			if !yield(e.integration()) {
				return
			}
		}
	}
}

// Find returns the integration id of whichever tenant holds it (ids are
// unique UUIDs): a provider's webhook names no tenant.
func (v *View) Find(id string) (contracts.Integration, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, its := range v.byTenant {
		if e, ok := its[id]; ok {
			return e.integration(), true
		}
	}
	return contracts.Integration{}, false
}

// Ready is closed once the watch has replayed the bucket's current values.
func (v *View) Ready() <-chan struct{} { return v.ready }

// ReadTimeout bounds one read of the bucket by Lookup or Read.
const ReadTimeout = 5 * time.Second

// Lookup returns the integration id of tenantID. When the view does not
// hold it, it reads the bucket before answering: the watch may lag (right
// after a reconnect, or a create a moment ago), and a miss of the view is
// not a not-found. What the bucket holds is put in the view. found is
// false only when the bucket has no such integration; an error means the
// bucket could not be read, and the caller should retry rather than
// answer not-found.
func (v *View) Lookup(ctx context.Context, tenantID, id string) (it contracts.Integration, found bool, err error) {
	if it, ok := v.Get(tenantID, id); ok {
		return it, true, nil
	}
	v.mu.RLock()
	kv := v.kv
	v.mu.RUnlock()
	if kv == nil {
		return it, false, errors.New("catalog view: not watching a bucket")
	}
	if it, found, err = Read(ctx, kv, tenantID, id); err != nil || !found {
		return it, found, err
	}
	return v.fill(it), true, nil
}

// fill puts it, read from the bucket, in the view unless the watch has
// passed its revision (then the view is as current as the read, or more),
// and returns what the view holds for it now.
func (v *View) fill(it contracts.Integration) contracts.Integration {
	v.mu.Lock()
	defer v.mu.Unlock()
	its := v.byTenant[it.TenantID]
	if held, ok := its[it.ID]; ok && held.it.Revision >= it.Revision {
		return held.integration()
	}
	if v.seen >= it.Revision {
		// The watch got here first (and may have deleted it since): our
		// read is older than the view, so it goes no further than this caller.
		return it
	}
	if its == nil {
		its = map[string]entry{}
		v.byTenant[it.TenantID] = its
	}
	if _, ok := its[it.ID]; !ok {
		v.n++
		v.read[it.TenantID+"."+it.ID] = true
	}
	its[it.ID] = v.intern(newEntry(it))
	close(v.changed)
	v.changed = make(chan struct{})
	return it
}

// Read reads one integration straight from the bucket, within ReadTimeout:
// found is false when the bucket holds no such key (or only its delete).
func Read(ctx context.Context, kv jetstream.KeyValue, tenantID, id string) (contracts.Integration, bool, error) {
	var it contracts.Integration
	if !keyToken(tenantID) || !keyToken(id) {
		return it, false, nil // no key can hold it
	}
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	e, err := kv.Get(ctx, tenantID+"."+id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return it, false, nil
	case err != nil:
		return it, false, fmt.Errorf("read integration %s from the %s bucket: %w", id, BucketIntegrations, err)
	}
	if err := json.Unmarshal(e.Value(), &it); err != nil {
		return it, false, fmt.Errorf("decode integration %s: %w", id, err)
	}
	it.Revision = e.Revision()
	return it, it.TenantID == tenantID && it.ID == id, nil
}

// keyToken reports whether s can be one token of a bucket key.
func keyToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}

// Watch replays the bucket into the view, closes Ready, then follows it
// until ctx ends (nil) or the watch fails. Keys that are not
// <tenantId>.<integrationId> and values that do not decode are skipped.
func (v *View) Watch(ctx context.Context, kv jetstream.KeyValue) error {
	v.mu.Lock()
	v.kv = kv
	v.mu.Unlock()
	live := false
	return Follow(ctx, kv, func(e jetstream.KeyValueEntry) {
		v.fmu.Lock()
		defer v.fmu.Unlock()
		c, ok := v.apply(e, live)
		if !ok {
			return
		}
		if v.OnChange != nil {
			v.OnChange(ctx, c)
		}
		v.fanOut(ctx, fanned{c: c})
	}, func() {
		live = true
		v.fmu.Lock()
		v.replayed = true
		v.fanOut(ctx, fanned{replayed: true})
		v.fmu.Unlock()
		v.once.Do(func() { close(v.ready) })
	})
}

// fanOut hands f to every subscriber, in the order they joined, waiting
// for each to take it (a slow subscriber slows the watch, as a slow
// OnChange does); a subscriber whose context ended is dropped. Called with
// fmu held.
func (v *View) fanOut(ctx context.Context, f fanned) {
	kept := v.subs[:0]
	for _, s := range v.subs {
		select {
		case s.feed <- f:
			kept = append(kept, s)
		case <-s.done:
		case <-ctx.Done():
			kept = append(kept, s)
		}
	}
	clear(v.subs[len(kept):])
	v.subs = kept
}

// Subscribe calls fn for every change of the view until ctx ends (then it
// returns nil), on the caller's goroutine and in the order the view applied
// them, as OnChange is called: first each integration the view holds when
// Subscribe is called, as a Created change that is not Live (oldest
// revision first, as a watch replays the bucket), then every change the
// watch applies after that, with its own Live flag. ready, if not nil, is
// closed once fn has had the replay of the bucket (at once after the
// snapshot when the view had replayed it already). fn must return when ctx
// ends. Subscribers may come and go while the view is watched: each
// service of a process keeps its own callback on one shared view.
func (v *View) Subscribe(ctx context.Context, ready chan<- struct{}, fn func(context.Context, Change)) error {
	s := &subscriber{done: ctx.Done(), feed: make(chan fanned)}
	v.fmu.Lock()
	replayed := v.replayed
	snapshot := v.snapshot()
	v.subs = append(v.subs, s)
	v.fmu.Unlock()
	markReady := func() {
		if ready != nil {
			close(ready)
			ready = nil
		}
	}
	for i := range snapshot {
		if ctx.Err() != nil {
			return nil
		}
		// Decoded one at a time, as the watch's replay does.
		it := snapshot[i].integration()
		snapshot[i] = entry{}
		fn(ctx, Change{Kind: Created, TenantID: it.TenantID, ID: it.ID, Integration: it, Revision: it.Revision})
	}
	if replayed {
		markReady()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-s.feed:
			if f.replayed {
				markReady()
				continue
			}
			fn(ctx, f.c)
		}
	}
}

// snapshot is what the view holds that the watch has applied (not what
// Lookup put in it ahead of the watch: the watch reports those as created
// when it gets there), oldest revision first. Called with fmu held.
func (v *View) snapshot() []entry {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]entry, 0, v.n)
	for tenantID, its := range v.byTenant {
		for id, e := range its {
			if !v.read[tenantID+"."+id] {
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(a.it.Revision, b.it.Revision) })
	return out
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
				// The watch closes its channel when ctx ends, and select may
				// see that before ctx.Done(): that is the normal stop. Closed
				// otherwise (the bucket's stream went away), the view would
				// silently stop following: say so.
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch of bucket %s ended", kv.Bucket())
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

// intern shares e's tenant and type ids with the view's other entries.
// Called with mu held.
func (v *View) intern(e entry) entry {
	e.it.TenantID, e.it.TypeID = v.names.of(e.it.TenantID), v.names.of(e.it.TypeID)
	return e
}

// apply applies one bucket entry; false when it is not an integration.
func (v *View) apply(e jetstream.KeyValueEntry, live bool) (Change, bool) {
	tenantID, id, found := strings.Cut(e.Key(), ".")
	if !found || tenantID == "" || id == "" || strings.Contains(id, ".") {
		return Change{}, false
	}
	c := Change{TenantID: tenantID, ID: id, Revision: e.Revision(), Live: live}
	deleted := e.Operation() != jetstream.KeyValuePut
	var stored entry
	if !deleted {
		var err error
		if stored, err = decodeEntry(e.Value()); err != nil {
			return Change{}, false
		}
		stored.it.Revision = e.Revision()
		c.Integration = stored.integration()
		if stored.it.ID == id {
			id = stored.it.ID // the map's key shares the value's string
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seen = max(v.seen, e.Revision())
	its := v.byTenant[tenantID]
	old, had := its[id]
	if had && old.it.Revision > e.Revision() {
		// Lookup brought a newer revision from the bucket already; the
		// watch is catching up and reports it when it gets there.
		return Change{}, false
	}
	read := v.read[e.Key()]
	delete(v.read, e.Key())
	switch {
	case deleted:
		c.Kind = Deleted
		if had {
			c.Integration = old.integration()
			delete(its, id)
			v.n--
			if len(its) == 0 {
				delete(v.byTenant, tenantID)
			}
		}
	default:
		c.Kind = Created
		if had && !read {
			c.Kind = Updated
		} else if !had {
			v.n++
		}
		if its == nil {
			its = map[string]entry{}
			v.byTenant[v.names.of(tenantID)] = its
		}
		its[id] = v.intern(stored)
	}
	close(v.changed)
	v.changed = make(chan struct{})
	return c, true
}
