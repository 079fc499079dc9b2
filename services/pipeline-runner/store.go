package pipelinerunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// BucketRuns is the runner's store of runs.
const BucketRuns = "pipeline-runs"

// RunsBucket is the definition of BucketRuns.
func RunsBucket(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      BucketRuns,
		Description: "Integration Hub pipeline runs by <tenantId>.<runId>, with the lease of the replica following each",
		History:     1,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	}
}

// Phases of a record.
const (
	// phaseTriggering: the trigger call may be under way; only its
	// handler touches the record until its lease ends.
	phaseTriggering = "triggering"
	// phaseFollowing: the run is read until it ends and its completion is out.
	phaseFollowing = "following"
	// phaseDone: every event of the run is out.
	phaseDone = "done"
)

// record is one run as stored: the run, what the provider calls it, which
// of its events are out, and who follows it until when.
type record struct {
	Run       contracts.PipelineRun `json:"run"`
	RequestID string                `json:"requestId,omitempty"`
	Provider  connectors.RunRef     `json:"provider"`
	Phase     string                `json:"phase"`
	// Started: pipeline.run.started is out. Transitions counts the
	// pipeline.run.changed events out (their ids are numbered by it).
	Started     bool `json:"started,omitempty"`
	Transitions int  `json:"transitions,omitempty"`
	// Announcing is the pipeline.run.changed of the last transition while
	// it may not be out yet: stored with the transition, before it is
	// published, and cleared by the next write, so an owner that takes the
	// run over publishes it again under its id (see runner.transition).
	Announcing *announcement `json:"announcing,omitempty"`
	// CancelRequested is set by a cancel command; CancelSent once the
	// provider took it.
	CancelRequested bool `json:"cancelRequested,omitempty"`
	CancelSent      bool `json:"cancelSent,omitempty"`
	// Owner holds the run until LeaseUntil; NextPoll is when it is read next.
	Owner      string        `json:"owner,omitempty"`
	LeaseUntil time.Time     `json:"leaseUntil,omitzero"`
	NextPoll   time.Time     `json:"nextPoll,omitzero"`
	Interval   time.Duration `json:"interval,omitempty"`
	Failures   int           `json:"failures,omitempty"`
}

// announcement is a transition's event as it was stored: its id and the
// status the run moved from.
type announcement struct {
	ID       string                      `json:"id"`
	Previous contracts.PipelineRunStatus `json:"previous"`
}

func runKey(tenantID, runID string) string { return tenantID + "." + runID }

func (r *record) key() string { return runKey(r.Run.TenantID, r.Run.RunID) }

// runStore reads and writes records; every write after the create is a
// compare-and-set on the revision read.
type runStore struct {
	js jetstream.JetStream
	kv jetstream.KeyValue
}

// errConflict: the record changed since it was read.
var errConflict = errors.New("run record changed meanwhile")

func (s *runStore) get(ctx context.Context, key string) (record, uint64, bool, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, 0, false, nil
	}
	if err != nil {
		return record{}, 0, false, fmt.Errorf("read run %s: %w", key, err)
	}
	var rec record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return record{}, 0, false, fmt.Errorf("decode run %s: %w", key, err)
	}
	return rec, e.Revision(), true, nil
}

// create stores a new record; false when the key exists.
func (s *runStore) create(ctx context.Context, rec record) (uint64, bool, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, false, err
	}
	rev, err := s.kv.Create(ctx, rec.key(), b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store run %s: %w", rec.key(), err)
	}
	return rev, true, nil
}

// update writes rec if the record is still at rev.
func (s *runStore) update(ctx context.Context, rec record, rev uint64) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	n, err := s.kv.Update(ctx, rec.key(), b, rev)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return 0, errConflict
		}
		return 0, fmt.Errorf("store run %s: %w", rec.key(), err)
	}
	return n, nil
}

// active is this replica's view of the open runs (from the bucket's watch):
// the follower's worklist.
type active struct {
	mu   sync.Mutex
	open map[string]openRun
}

type openRun struct {
	rec record
	rev uint64
}

func newActive() *active { return &active{open: map[string]openRun{}} }

// apply follows one entry of the bucket.
func (a *active) apply(e jetstream.KeyValueEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(a.open, e.Key())
		return
	}
	var rec record
	if json.Unmarshal(e.Value(), &rec) != nil || rec.Phase == phaseDone {
		delete(a.open, e.Key())
		return
	}
	a.open[e.Key()] = openRun{rec: rec, rev: e.Revision()}
}

func (a *active) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.open)
}

// snapshot returns the open runs.
func (a *active) snapshot() []openRun {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]openRun, 0, len(a.open))
	for _, r := range a.open {
		out = append(out, r)
	}
	return out
}
