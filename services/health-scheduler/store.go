package healthscheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// healthRecord is what the health bucket holds: the record the manager
// and the ingress join into reads (catalog.HealthRecord, compact: the key
// names the integration), plus the anti-flapping state. The scheduler works
// on it in that shape, so a write encodes it as it is.
type healthRecord struct {
	catalog.HealthRecord
	Flap flapState `json:"flap"`
}

// transition is the outcome of recording one result.
type transition struct {
	previous, current contracts.HealthStatus
	revision          uint64
	// cause is the first failing check (connectivity, then authentication,
	// then functionality) when the integration is not healthy.
	cause contracts.HealthCheckResult
}

// healthStore writes health records with compare-and-set, so concurrent
// checks of one integration on several workers never lose a result.
//
// It remembers the record it last wrote for each integration and that
// write's revision, so a check usually costs one write and no read: the
// write expects the revision we wrote last, and when another worker or
// replica wrote since, the bucket refuses it and we read and retry. That is
// half the round trips and no decode per check; the price is about 0.5 KB
// per integration checked here.
type healthStore struct {
	kv        jetstream.KeyValue
	threshold int

	mu      sync.Mutex
	written map[string]writtenRecord // by tenant.integration
	// writing holds one lock per integration being recorded here, so the
	// checks of one integration that end together (the three levels a new
	// integration is checked at once) write one after another, each
	// building on the last, instead of racing to the bucket where all but
	// one lose, read and write again (about six writes and five reads for
	// three results, where three writes and one read do).
	writing map[string]*keyLock
}

// keyLock is the lock of one integration's record and how many record
// calls hold or wait for it.
type keyLock struct {
	sync.Mutex
	users int
}

// lock takes key's lock; the returned func releases it.
func (s *healthStore) lock(key string) func() {
	s.mu.Lock()
	l := s.writing[key]
	if l == nil {
		l = &keyLock{}
		s.writing[key] = l
	}
	l.users++
	s.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.writing, key)
		}
		s.mu.Unlock()
	}
}

// writtenRecord is what record needs of the last record it wrote: the
// fields every new result is folded into, and the revision to expect.
type writtenRecord struct {
	revision uint64
	status   contracts.HealthStatus
	flap     flapState
	// checks holds the latest result per level, in contracts.CheckTypes
	// order; bit i of present says whether level i has one.
	checks  [3]catalog.LevelResult
	present uint8
}

func newHealthStore(kv jetstream.KeyValue, threshold int) *healthStore {
	return &healthStore{kv: kv, threshold: threshold, written: map[string]writtenRecord{}, writing: map[string]*keyLock{}}
}

// record folds res into the integration's record.
// exists reports whether the integration is still in the catalog; a result
// that arrives after its integration was deleted is dropped, not recorded.
//
// refused marks a result the circuit breaker produced without contacting
// the remote: it says nothing new about the remote (the failures that opened
// the breaker were recorded already), so it updates the breaker state and
// the time of the last check but neither the check's result nor the status.
func (s *healthStore) record(ctx context.Context, it contracts.Integration, res contracts.HealthCheckResult, breaker string, exists func() bool, refused bool) (transition, error) {
	return s.recordAll(ctx, it, []outcome{{res: res, refused: refused}}, breaker, exists)
}

// outcome is one level's result of a check command and whether the circuit
// breaker refused it (see record).
type outcome struct {
	res     contracts.HealthCheckResult
	refused bool
}

// recordAll folds the results of one command's levels into the
// integration's record in one write, as if each had been recorded in turn:
// the anti-flapping rule observes the status after each result, in order,
// so a new integration's three levels move it as three writes would. The
// transition is from the status before the first to the status after the
// last: at most one change to announce.
func (s *healthStore) recordAll(ctx context.Context, it contracts.Integration, outs []outcome, breaker string, exists func() bool) (transition, error) {
	defer s.lock(it.TenantID + "." + it.ID)()
	return s.recordLocked(ctx, it, outs, breaker, exists, false)
}

// recordLocked is recordAll for a caller holding the integration's lock
// (lock), which it may keep past the write: the health-scheduler keeps it
// until the write's events are out, so a later result of the same
// integration on this replica is announced after them, not before.
//
// fresh says the integration was just created and this is its first check:
// with nothing remembered, the first attempt then assumes there is no record
// yet instead of reading the bucket to find none (a read per create). A
// wrong guess costs a refused create and the read it saved: the create
// expects no record, so it never overwrites one.
func (s *healthStore) recordLocked(ctx context.Context, it contracts.Integration, outs []outcome, breaker string, exists func() bool, fresh bool) (transition, error) {
	key := it.TenantID + "." + it.ID
	for attempt := 0; attempt < 20; attempt++ {
		// The first attempt trusts what we wrote last; a retry reads.
		rec, rev, err := s.previous(ctx, it, attempt == 0, fresh)
		if err != nil {
			return transition{}, err
		}
		prev := rec.Status
		if prev == "" {
			prev = contracts.HealthUnknown
		}
		if rec.Checks == nil {
			rec.Checks = map[contracts.CheckType]catalog.LevelResult{}
		}
		for _, o := range outs {
			if !o.refused {
				rec.Checks[o.res.CheckType] = catalog.LevelOf(o.res)
				rec.Flap = rec.Flap.observe(overall(rec.Checks), s.threshold)
			}
			checked := o.res.CheckedAt
			rec.LastCheck = &checked
		}
		rec.Breaker = breaker
		rec.Status = rec.Flap.Confirmed
		if rec.Status == "" {
			rec.Status = contracts.HealthUnknown
		}
		b, _ := json.Marshal(rec)
		if !exists() {
			return transition{previous: prev, current: prev}, nil
		}
		var newRev uint64
		if rev == 0 {
			newRev, err = s.kv.Create(ctx, key, b)
		} else {
			newRev, err = s.kv.Update(ctx, key, b, rev)
		}
		if err == nil {
			s.remember(key, newRev, rec)
			tr := transition{previous: prev, current: rec.Status, revision: newRev}
			for _, ct := range contracts.CheckTypes {
				if r, ok := rec.Checks[ct]; ok && r.Status != contracts.HealthHealthy && rec.Status != contracts.HealthHealthy {
					tr.cause = r.Result(it.ID, ct)
					break
				}
			}
			return tr, nil
		}
		s.forget(key)
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return transition{}, fmt.Errorf("write health of %s: %w", it.ID, err)
		}
	}
	return transition{}, fmt.Errorf("write health of %s: too much contention", it.ID)
}

// previous returns the integration's current record and its revision (0:
// none yet): the one we wrote last if trusted and known, none if trusted
// and the integration is fresh (see recordLocked), else the bucket's.
func (s *healthStore) previous(ctx context.Context, it contracts.Integration, trustWritten, fresh bool) (healthRecord, uint64, error) {
	key := it.TenantID + "." + it.ID
	var rec healthRecord
	if trustWritten {
		s.mu.Lock()
		w, ok := s.written[key]
		s.mu.Unlock()
		if ok {
			return w.healthRecord(), w.revision, nil
		}
		if fresh {
			rec.Status = contracts.HealthUnknown
			return rec, 0, nil
		}
	}
	e, err := s.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		rec.Status = contracts.HealthUnknown
		return rec, 0, nil
	case err != nil:
		return rec, 0, fmt.Errorf("read health of %s: %w", it.ID, err)
	}
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return rec, 0, fmt.Errorf("decode health of %s: %w", it.ID, err)
	}
	return rec, e.Revision(), nil
}

// remember keeps what record wrote at revision, unless a newer write is
// known already. A record with a check level this build does not know is
// not kept, so nothing is lost from it.
func (s *healthStore) remember(key string, revision uint64, rec healthRecord) {
	w := writtenRecord{revision: revision, status: rec.Status, flap: rec.Flap}
	for ct, r := range rec.Checks {
		i := slices.Index(contracts.CheckTypes, ct)
		if i < 0 || i >= len(w.checks) {
			s.forget(key)
			return
		}
		w.checks[i], w.present = r, w.present|1<<i
	}
	s.mu.Lock()
	if old, ok := s.written[key]; !ok || old.revision < revision {
		s.written[key] = w
	}
	s.mu.Unlock()
}

func (s *healthStore) forget(key string) {
	s.mu.Lock()
	delete(s.written, key)
	s.mu.Unlock()
}

// healthRecord rebuilds the fields of the record that record folds into;
// the others it sets anew on every write.
func (w writtenRecord) healthRecord() healthRecord {
	var rec healthRecord
	rec.Status, rec.Flap = w.status, w.flap
	rec.Checks = make(map[contracts.CheckType]catalog.LevelResult, len(w.checks))
	for i, r := range w.checks {
		if w.present&(1<<i) != 0 {
			rec.Checks[contracts.CheckTypes[i]] = r
		}
	}
	return rec
}

// remove deletes the record of a deleted integration.
func (s *healthStore) remove(ctx context.Context, key string) error {
	s.forget(key)
	err := s.kv.Delete(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
