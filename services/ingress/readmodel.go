package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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
//
// The answers of GET are kept encoded (answers): a read of an integration
// whose revision and health record have not changed since the last one
// writes the same bytes again instead of decoding its config and labels,
// joining its health and encoding the result (most of a GET's CPU).
type readModel struct {
	view *catalog.View

	// hmu guards the health records and the encoded answers, so that an
	// answer is dropped in the same step as the record it joined changes.
	hmu    sync.RWMutex
	health map[itemKey]healthRecord
	// answers holds encoded GET answers, at most answersBytes of them.
	answers     map[itemKey]answer
	answersSize int
	answersMax  int
	// healthReady is closed once the health bucket is replayed.
	healthReady chan struct{}

	pmu     sync.Mutex
	pending map[string]pendingWrite
	// npending is len(pending), read without pmu: a read finds no write
	// pending (the usual case) without taking the lock. A write's wrote
	// returns before its answer is sent, so a read that follows it sees
	// the count.
	npending atomic.Int64
	now      func() time.Time
}

// itemKey names one integration (and its health record) in the read
// model: a struct rather than the bucket key "<tenant>.<id>", which would
// be built (allocated) at every read.
type itemKey struct{ tenantID, id string }

// healthRecord is a health record as the bucket holds it and its revision,
// which names it in an answer. It is decoded when a read joins it, not when
// it is written: the scheduler rewrites every record at every check, and an
// answer once encoded is kept (answer), so a record is decoded at most once
// per revision read, and one never read is never decoded.
type healthRecord struct {
	raw []byte
	rev uint64
}

// answer is the encoded answer of GET for one revision of an integration
// and one revision of its health record (0: none), with its ETag. Both are
// shared by every read that is answered with them: never change them.
type answer struct {
	rev, healthRev uint64
	body           []byte
	etag           []string
}

// answersBytes bounds the encoded answers the read model keeps: about
// 20,000 answers of a typical integration, checked at the default
// intervals. Losing one costs an encoding.
const answersBytes = 16 << 20

// answerOverhead is what an answer costs besides its body: its map slot,
// its ETag and key.
const answerOverhead = 160

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
	m := &readModel{view: catalog.NewView(), health: map[itemKey]healthRecord{}, healthReady: make(chan struct{}),
		answers: map[itemKey]answer{}, answersMax: answersBytes, pending: map[string]pendingWrite{}, now: time.Now}
	// The view's own callback serves a view the read model is given to
	// watch directly; a service's wiring replaces the view with its catalog
	// (shared or its own) and subscribes onChange instead.
	m.view.OnChange = m.onChange
	return m
}

// onChange follows the view's changes: a write is no longer pending once
// the view has applied it, and the answer of the version it replaced is
// dropped (an answer names its revision, so it would not be served again
// anyway: dropping it gives its room back).
func (m *readModel) onChange(_ context.Context, c catalog.Change) {
	m.applied(c.Key(), c.Revision)
	if c.Kind != catalog.Created {
		m.hmu.Lock()
		m.forget(itemKey{c.TenantID, c.ID})
		m.hmu.Unlock()
	}
}

// followHealth keeps the copy of the health bucket until ctx ends.
func (m *readModel) followHealth(ctx context.Context, kv jetstream.KeyValue) error {
	return catalog.Follow(ctx, kv, func(e jetstream.KeyValueEntry) {
		tenantID, id, ok := strings.Cut(e.Key(), ".")
		if !ok {
			return // not an integration's record
		}
		k := itemKey{tenantID, id}
		if e.Operation() != jetstream.KeyValuePut {
			m.hmu.Lock()
			delete(m.health, k)
			m.forget(k)
			m.hmu.Unlock()
			return
		}
		// A copy: the entry's value shares one allocation with the
		// message's headers, which would stay alive with it.
		h := healthRecord{raw: bytes.Clone(e.Value()), rev: e.Revision()}
		m.hmu.Lock()
		m.health[k] = h
		m.forget(k)
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
		m.npending.Store(int64(len(m.pending)))
	}
	m.pending[tenantID+"."+id] = pendingWrite{rev: rev, at: now}
	m.npending.Store(int64(len(m.pending)))
}

// applied forgets a pending write once the view has applied its revision.
func (m *readModel) applied(key string, rev uint64) {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	if p, ok := m.pending[key]; ok && rev >= p.rev {
		delete(m.pending, key)
		m.npending.Store(int64(len(m.pending)))
	}
}

// get returns tenantID's integration id with its health, when the view can
// answer for it; ok false sends the read to the manager.
func (m *readModel) get(ctx context.Context, tenantID, id string) (contracts.Integration, bool) {
	it, _, ok := m.read(ctx, tenantID, id)
	return it, ok
}

// read is get with the revision of the health record it joined (0: none).
func (m *readModel) read(ctx context.Context, tenantID, id string) (contracts.Integration, uint64, bool) {
	if m == nil {
		return contracts.Integration{}, 0, false
	}
	it, ok := m.integration(ctx, tenantID, id)
	if !ok {
		return it, 0, false
	}
	m.hmu.RLock()
	h := m.health[itemKey{tenantID, id}]
	m.hmu.RUnlock()
	catalog.JoinHealth(&it, h.raw)
	return it, h.rev, true
}

// answer is get as GET answers it: the JSON writeJSON writes and the ETag.
// The view's revision of the integration and the health record's revision
// name an answer: while both are those of a kept answer, it is served as
// it is, without decoding the integration; otherwise it is read as get
// reads it, encoded and kept. A write pending (read-your-writes) is checked
// first, as get does, and the view is asked for the caller's tenant only,
// so an answer is never served to another tenant or older than a write.
func (m *readModel) answer(ctx context.Context, tenantID, id string) (answer, bool) {
	if m == nil || !validKey(tenantID, id) {
		return answer{}, false
	}
	k := itemKey{tenantID, id}
	// The pending write first, then the view, as integration reads them.
	p, waiting := m.pendingOf(tenantID, id)
	if rev, ok := m.view.Revision(tenantID, id); ok && !(waiting && m.newer(p, rev)) {
		m.hmu.RLock()
		hrev := m.health[k].rev
		a, kept := m.answers[k]
		m.hmu.RUnlock()
		if kept && a.rev == rev && a.healthRev == hrev {
			return a, true
		}
	}
	it, hrev, ok := m.read(ctx, tenantID, id)
	if !ok {
		return answer{}, false
	}
	a := answer{rev: it.Revision, healthRev: hrev, body: encodeJSON(it), etag: []string{etag(it.Revision)}}
	m.keep(itemKey{strings.Clone(tenantID), strings.Clone(id)}, a)
	return a, true
}

// encodeJSON is v as writeJSON writes it.
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.Bytes()
}

// write writes the answer as writeJSON would, with its ETag: the header
// values are the answer's own slices, set without Header.Set's copies.
func (a answer) write(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Etag"] = a.etag
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.body)
}

// contentTypeJSON is the Content-Type header value of a JSON answer.
var contentTypeJSON = []string{"application/json"}

// keep puts a in the answers, dropping others (arbitrary ones: map order)
// to stay within answersMax. A read that raced with a change may keep an
// answer older than the one it replaces: that costs the next read an
// encoding, never a stale answer, since both revisions are compared at
// every read.
func (m *readModel) keep(k itemKey, a answer) {
	n := len(a.body) + answerOverhead
	if n > m.answersMax/8 {
		return // an integration this large is rare: encode it each time
	}
	m.hmu.Lock()
	defer m.hmu.Unlock()
	m.forget(k)
	for victim := range m.answers {
		if m.answersSize+n <= m.answersMax {
			break
		}
		m.forget(victim)
	}
	m.answers[k] = a
	m.answersSize += n
}

// forget drops the answer of k. Called with hmu held.
func (m *readModel) forget(k itemKey) {
	if a, ok := m.answers[k]; ok {
		delete(m.answers, k)
		m.answersSize -= len(a.body) + answerOverhead
	}
}

// pendingOf is the write of tenantID's id through this ingress that the
// view has not applied yet, if any. It is to be read before the view (see
// integration).
func (m *readModel) pendingOf(tenantID, id string) (pendingWrite, bool) {
	if m.npending.Load() == 0 {
		return pendingWrite{}, false
	}
	m.pmu.Lock()
	defer m.pmu.Unlock()
	p, ok := m.pending[tenantID+"."+id]
	return p, ok
}

// newer says whether the pending write p is of a revision above rev (and
// not expired): the view's rev must not answer then.
func (m *readModel) newer(p pendingWrite, rev uint64) bool {
	return rev < p.rev && m.now().Sub(p.at) <= pendingTTL
}

// validKey says whether tenantID and id can name a bucket key.
func validKey(tenantID, id string) bool {
	const notInKey = ".*> \t\r\n"
	return tenantID != "" && id != "" && !strings.ContainsAny(tenantID, notInKey) && !strings.ContainsAny(id, notInKey)
}

// integration is get without the health: what the discover endpoint needs.
// Its Config and Labels are the view's: read them, never change them. A
// key the view does not hold yet (a create a moment ago) is read from the
// bucket (View.Lookup); one the bucket does not hold either, or cannot be
// read, is the manager's to answer.
func (m *readModel) integration(ctx context.Context, tenantID, id string) (contracts.Integration, bool) {
	if m == nil || !validKey(tenantID, id) {
		return contracts.Integration{}, false
	}
	// The pending write first, then the view: the view applies a revision
	// before the write is forgotten, so a write missing here is in the view.
	p, waiting := m.pendingOf(tenantID, id)
	it, ok := m.view.Get(tenantID, id)
	if !ok {
		var err error
		if it, ok, err = m.view.Lookup(ctx, tenantID, id); err != nil || !ok {
			return contracts.Integration{}, false
		}
	}
	if waiting && m.newer(p, it.Revision) {
		return contracts.Integration{}, false
	}
	return it, true
}
