package pipelinerunner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// publishTimeout bounds one event's publish (the bus retries inside it).
const publishTimeout = 5 * time.Second

// noRetryLimit is how many reads in a row may fail with a code that will
// not heal by itself (the integration deleted, the run unknown) before the
// run is completed as failed; a few, so that a lagging catalog is not fatal.
const noRetryLimit = 3

// follow claims the open runs that are due and reads them, until ctx ends.
func (r *runner) follow(ctx context.Context) error {
	tick := time.NewTicker(max(min(r.cfg.PollInterval/4, time.Second), 10*time.Millisecond))
	defer tick.Stop()
	sem := make(chan struct{}, r.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-r.wake:
		}
		now := r.cfg.Clock()
		for _, o := range r.active.snapshot() {
			key := o.rec.key()
			if !claimable(o.rec, now) || !r.busy.take(key) {
				continue
			}
			select {
			case sem <- struct{}{}:
			default:
				r.busy.drop(key)
				continue
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; r.busy.drop(key); wg.Done() }()
				r.claimAndStep(ctx, o)
			}()
		}
	}
}

// claimable says whether a replica may take rec now: it is due and nobody
// holds it (or its holder's lease ran out).
func claimable(rec record, now time.Time) bool {
	return rec.Phase != phaseDone && !rec.NextPoll.After(now) && (rec.Owner == "" || rec.LeaseUntil.Before(now))
}

// claimAndStep takes the lease of o (a compare-and-set: one replica wins)
// and reads the run once.
func (r *runner) claimAndStep(ctx context.Context, o openRun) {
	rec := o.rec
	rec.Owner, rec.LeaseUntil = r.replica, r.cfg.Clock().UTC().Add(r.cfg.LeaseTTL)
	rev, err := r.store.update(ctx, rec, o.rev)
	if err != nil {
		if !errors.Is(err, errConflict) && ctx.Err() == nil {
			r.logger.Warn("claim of a pipeline run failed", "run_id", rec.Run.RunID, "error", err.Error())
		}
		return
	}
	if rec.Phase == phaseTriggering {
		// Its trigger handler stopped between storing the run and storing
		// the trigger's answer: whether the provider started it is unknown,
		// and triggering again could start it twice.
		rec.Phase, rec.Run.Status = phaseFollowing, contracts.RunFailed
		rec.Run.Error = &contracts.ErrorBody{Code: string(resilience.UpstreamError),
			Message: "the runner stopped while triggering: whether the provider started the run is unknown"}
	}
	if err := r.settle(ctx, r.out, rec, rev, true); err != nil && ctx.Err() == nil {
		r.logger.Warn("pipeline run step failed", "run_id", rec.Run.RunID, "error", err.Error())
	}
}

// settle brings a held record forward: started out, the run read once when
// poll (and each transition out), completed out once final, then the
// record stored and released. The started and completed events are
// published before the record says so; a replica that stops in between
// publishes them again under the same id, which the stream's duplicate
// window drops. A transition is stored first (its event marked as being
// announced) and published after, because the next owner could not
// compute the same one: the provider may have moved on meanwhile.
func (r *runner) settle(ctx context.Context, out *bus.Producer, rec record, rev uint64, poll bool) error {
	var err error
	if !rec.Started {
		if err := r.publish(ctx, out, contracts.SubjectRunStarted, rec.Run.RunID+":started", rec, ""); err != nil {
			return err
		}
		rec.Started = true
		if rev, err = r.store.update(ctx, rec, rev); err != nil {
			return err
		}
	}
	if rec.Announcing != nil {
		// The last owner stored a transition and stopped before its event
		// was known to be out.
		if err := r.announce(ctx, out, &rec); err != nil {
			return err
		}
	}
	if poll && !rec.Run.Status.Final() {
		if err := r.poll(ctx, out, &rec, &rev); err != nil {
			return err
		}
	}
	if rec.Run.Status.Final() && rec.Phase != phaseDone {
		now := r.cfg.Clock().UTC()
		rec.Run.CompletedAt, rec.Run.UpdatedAt = &now, now
		rec.Run.DurationMs = max(now.Sub(rec.Run.CreatedAt).Milliseconds(), 0)
		if err := r.publish(ctx, out, contracts.SubjectRunCompleted, rec.Run.RunID+":completed", rec, ""); err != nil {
			return err
		}
		rec.Phase = phaseDone
		r.logger.Info("pipeline run completed", "tenant_id", rec.Run.TenantID, "run_id", rec.Run.RunID,
			"status", string(rec.Run.Status), "duration_ms", rec.Run.DurationMs)
	}
	rec.Owner, rec.LeaseUntil = "", time.Time{}
	_, err = r.store.update(ctx, rec, rev)
	return err
}

// poll reads the run once (sending a requested cancel first), publishes a
// transition, and sets when to read it next.
func (r *runner) poll(ctx context.Context, out *bus.Producer, rec *record, rev *uint64) error {
	st, err := r.read(ctx, rec)
	now := r.cfg.Clock().UTC()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rec.Failures++
		code := resilience.CodeOf(err)
		r.logger.Warn("pipeline run read failed", "run_id", rec.Run.RunID, "error_code", string(code), "error", err.Error(), "failures", rec.Failures)
		if rec.Failures >= r.cfg.MaxFailures || (resilience.StrategyFor(code) == resilience.NoRetry && rec.Failures >= noRetryLimit) {
			rec.Run.Error = errorBody(err)
			return r.transition(ctx, out, rec, rev, contracts.RunFailed, now)
		}
		wait := min(rec.Interval<<min(rec.Failures, 10), r.cfg.MaxPollInterval)
		rec.NextPoll = now.Add(max(wait, resilience.RetryAfterOf(err)))
		return nil
	}
	rec.Failures = 0
	if st.Ref.ID != "" {
		rec.Provider = st.Ref
		rec.Run.ProviderRunID = st.Ref.ID
	}
	if st.Ref.WebURL != "" {
		rec.Run.WebURL = st.Ref.WebURL
	}
	if st.Jobs != nil {
		rec.Run.Jobs = st.Jobs
	}
	if st.Status == rec.Run.Status {
		rec.Interval = min(max(rec.Interval, r.cfg.PollInterval)*2, r.cfg.MaxPollInterval)
		rec.NextPoll = now.Add(rec.Interval)
		return nil
	}
	rec.Interval = r.cfg.PollInterval
	rec.NextPoll = now.Add(rec.Interval)
	return r.transition(ctx, out, rec, rev, st.Status, now)
}

// read sends a requested cancel, then reads the run's state.
func (r *runner) read(ctx context.Context, rec *record) (connectors.RunState, error) {
	conn, err := r.connector(ctx, rec.Run.TenantID, rec.Run.IntegrationID)
	if err != nil {
		return connectors.RunState{}, err
	}
	f, ok := connectors.AsRunFollower(conn)
	if !ok {
		return connectors.RunState{}, resilience.New(resilience.NotSupported, "the integration cannot report its runs")
	}
	limiter := rec.Run.TenantID + "." + rec.Run.IntegrationID
	if rec.CancelRequested && !rec.CancelSent {
		if err := r.limits.wait(ctx, limiter); err != nil {
			return connectors.RunState{}, err
		}
		cctx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
		err := f.CancelRun(cctx, rec.Provider)
		cancel()
		switch {
		case err == nil:
			rec.CancelSent = true
		case resilience.StrategyFor(resilience.CodeOf(err)) == resilience.NoRetry:
			// The provider will not cancel it (it ended meanwhile, or the
			// token may not): follow it to its own end.
			rec.CancelSent = true
			r.logger.Warn("pipeline cancel refused", "run_id", rec.Run.RunID, "error", err.Error())
		default:
			return connectors.RunState{}, err
		}
	}
	if err := r.limits.wait(ctx, limiter); err != nil {
		return connectors.RunState{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	return f.RunStatus(cctx, rec.Provider)
}

// transition records the move of rec to status, then publishes it. The
// record is stored first, with the event marked as being announced: a
// process killed after publishing and before storing left a record in the
// old status, and the next owner, reading a provider that had moved on,
// announced a different transition under a different id (queued>running,
// then queued>succeeded). *rev is the held record's revision, updated.
func (r *runner) transition(ctx context.Context, out *bus.Producer, rec *record, rev *uint64, status contracts.PipelineRunStatus, now time.Time) error {
	prev := rec.Run.Status
	rec.Run.Status, rec.Run.UpdatedAt = status, now
	rec.Transitions++
	rec.Announcing = &announcement{ID: fmt.Sprintf("%s:%d:%s", rec.Run.RunID, rec.Transitions, status), Previous: prev}
	next, err := r.store.update(ctx, *rec, *rev)
	if err != nil {
		return err
	}
	*rev = next
	return r.announce(ctx, out, rec)
}

// announce publishes the stored transition's event and clears the mark
// (stored by the record's next write).
func (r *runner) announce(ctx context.Context, out *bus.Producer, rec *record) error {
	if err := r.publish(ctx, out, contracts.SubjectRunChanged, rec.Announcing.ID, *rec, rec.Announcing.Previous); err != nil {
		return err
	}
	rec.Announcing = nil
	return nil
}

// publish sends one event of the run.
func (r *runner) publish(ctx context.Context, out *bus.Producer, prefix, id string, rec record, prev contracts.PipelineRunStatus) error {
	if prefix == contracts.SubjectRunCompleted {
		prev = ""
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	now := r.cfg.Clock().UTC()
	_, err := out.Publish(pctx, bus.Event{
		ID: id, Subject: contracts.Subject(prefix, rec.Run.TenantID, rec.Run.IntegrationID),
		TenantID: rec.Run.TenantID, DataSubject: rec.Run.RunID, Time: now,
		Data: contracts.PipelineRunEvent{EventID: id, RequestID: rec.RequestID, Previous: prev, Run: rec.Run, OccurredAt: now},
	})
	return err
}

// makeDue makes the integration's open runs due now (a webhook says they
// moved) and wakes the follower; it returns how many. A run a replica holds
// is being read already and is left alone: writing it would make that
// replica's release conflict and the run wait out its lease.
func (r *runner) makeDue(ctx context.Context, tenantID, integrationID string) int {
	n := 0
	for _, o := range r.active.snapshot() {
		if o.rec.Run.TenantID != tenantID || o.rec.Run.IntegrationID != integrationID {
			continue
		}
		now := r.cfg.Clock().UTC()
		rec := o.rec
		if rec.Phase != phaseFollowing || (rec.Owner != "" && !rec.LeaseUntil.Before(now)) {
			continue
		}
		n++
		if !rec.NextPoll.After(now) {
			continue
		}
		rec.NextPoll = now
		if _, err := r.store.update(ctx, rec, o.rev); err != nil && !errors.Is(err, errConflict) {
			r.logger.Warn("pipeline run could not be made due", "run_id", rec.Run.RunID, "error", err.Error())
		}
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return n
}

// limits are per-integration token buckets of this replica.
type limits struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	by    map[string]*rate.Limiter
}

func newLimits(r rate.Limit, burst int) *limits {
	return &limits{rate: r, burst: burst, by: map[string]*rate.Limiter{}}
}

func (l *limits) wait(ctx context.Context, key string) error {
	l.mu.Lock()
	lim, ok := l.by[key]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.by[key] = lim
	}
	l.mu.Unlock()
	return lim.Wait(ctx)
}

// busySet are the runs this replica works on now.
type busySet struct {
	mu   sync.Mutex
	keys map[string]bool
}

// take marks key busy; false if it already was.
func (b *busySet) take(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keys == nil {
		b.keys = map[string]bool{}
	}
	if b.keys[key] {
		return false
	}
	b.keys[key] = true
	return true
}

func (b *busySet) drop(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.keys, key)
}
