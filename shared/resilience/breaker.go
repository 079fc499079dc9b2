package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// BreakerState is where a circuit breaker is in its closed → open →
// half-open cycle.
type BreakerState int

const (
	// Closed lets calls through and counts consecutive failures.
	Closed BreakerState = iota
	// Open refuses calls so a failing remote gets time to recover.
	Open
	// HalfOpen lets calls through on trial: successes close the circuit,
	// a failure re-opens it.
	HalfOpen
)

// String names the state for logs and metric labels.
func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("BreakerState(%d)", int(s))
}

// BreakerConfig sets when an integration's circuit breaker opens and closes.
type BreakerConfig struct {
	// FailureThreshold is how many consecutive failures open the circuit.
	FailureThreshold int
	// SuccessThreshold is how many consecutive half-open successes close it.
	SuccessThreshold int
	// OpenTimeout is how long the circuit stays open before a trial.
	OpenTimeout time.Duration
}

// DefaultBreakerConfig returns the defaults: 5 failures, 3 successes, 60s.
func DefaultBreakerConfig() BreakerConfig {
	return BreakerConfig{FailureThreshold: 5, SuccessThreshold: 3, OpenTimeout: 60 * time.Second}
}

// withDefaults fills fields left at zero (or below), because a threshold of
// zero would open or close the circuit on nothing.
func (c BreakerConfig) withDefaults() BreakerConfig {
	d := DefaultBreakerConfig()
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = d.FailureThreshold
	}
	if c.SuccessThreshold <= 0 {
		c.SuccessThreshold = d.SuccessThreshold
	}
	if c.OpenTimeout <= 0 {
		c.OpenTimeout = d.OpenTimeout
	}
	return c
}

// ErrCircuitOpen is the cause of the error Allow returns while open, so
// callers can tell a refused call from a failed one with errors.Is.
var ErrCircuitOpen = errors.New("call refused without contacting the remote")

// Breaker is the circuit breaker of one integration; it is safe for
// concurrent use.
type Breaker struct {
	cfg   BreakerConfig
	clock func() time.Time

	mu        sync.Mutex
	state     BreakerState
	gen       uint64    // bumped on each transition, so Do drops results from an older state
	failures  int       // consecutive failures while closed
	successes int       // consecutive successes while half-open
	openedAt  time.Time // when the circuit last opened
	hooks     []func(from, to BreakerState)
}

// NewBreaker returns a closed breaker; zero config fields take the defaults
// and a nil clock is time.Now (tests pass a controllable one).
func NewBreaker(cfg BreakerConfig, clock func() time.Time) *Breaker {
	if clock == nil {
		clock = time.Now
	}
	return &Breaker{cfg: cfg.withDefaults(), clock: clock}
}

// OnStateChange adds fn to the functions called on each transition. They run
// while the breaker is locked, so that they see transitions in order: keep
// them short and do not call the breaker from them.
func (b *Breaker) OnStateChange(fn func(from, to BreakerState)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hooks = append(b.hooks, fn)
}

// State returns the current state, turning open into half-open once the
// timeout has passed.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.clock())
	return b.state
}

// Allow returns nil if a call may go to the remote now, or an
// INTEGRATION_UNHEALTHY error saying how long the circuit stays open.
func (b *Breaker) Allow() error {
	_, err := b.allow()
	return err
}

// Record counts the outcome of a call that Allow let through.
func (b *Breaker) Record(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record(err)
}

// Do runs fn if the circuit allows it and records its outcome; a result that
// arrives after the state changed under it is dropped, since it belongs to
// the old state.
func (b *Breaker) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	gen, err := b.allow()
	if err != nil {
		return err
	}
	err = fn(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen == b.gen {
		b.record(err)
	}
	return err
}

func (b *Breaker) allow() (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock()
	b.advance(now)
	if b.state != Open {
		return b.gen, nil
	}
	wait := b.openedAt.Add(b.cfg.OpenTimeout).Sub(now).Round(time.Millisecond)
	return 0, &Error{
		Code:    IntegrationUnhealthy,
		Message: fmt.Sprintf("circuit breaker open, half-open in %s", wait),
		Err:     ErrCircuitOpen,
	}
}

// advance half-opens an open circuit whose timeout has passed. Checking on
// use, not on a timer, keeps the breaker free of goroutines.
func (b *Breaker) advance(now time.Time) {
	if b.state == Open && !now.Before(b.openedAt.Add(b.cfg.OpenTimeout)) {
		b.transition(HalfOpen, now)
	}
}

func (b *Breaker) record(err error) {
	switch outcomeOf(err) {
	case success:
		switch b.state {
		case Closed:
			b.failures = 0
		case HalfOpen:
			b.successes++
			if b.successes >= b.cfg.SuccessThreshold {
				b.transition(Closed, b.clock())
			}
		}
	case failure:
		switch b.state {
		case Closed:
			b.failures++
			if b.failures >= b.cfg.FailureThreshold {
				b.transition(Open, b.clock())
			}
		case HalfOpen:
			b.transition(Open, b.clock())
		}
	}
	// While open, results are late answers to calls made before it opened;
	// only the timeout ends an open state.
}

func (b *Breaker) transition(to BreakerState, now time.Time) {
	from := b.state
	b.state = to
	b.gen++
	b.failures, b.successes = 0, 0
	if to == Open {
		b.openedAt = now
	}
	for _, fn := range b.hooks {
		fn(from, to)
	}
}

type outcome int

const (
	success outcome = iota
	failure
	neutral
)

// outcomeOf decides what a call's error says about the remote's health.
// Configuration, capability, not-found and blocked-destination errors and
// the caller's own cancellation say nothing about it, so they neither count
// as failures nor reset the count.
func outcomeOf(err error) outcome {
	if err == nil {
		return success
	}
	if errors.Is(err, context.Canceled) {
		return neutral
	}
	switch CodeOf(err) {
	case InvalidConfig, NotSupported, ResourceNotFound, DestinationBlocked:
		return neutral
	}
	return failure
}

// Breakers holds one breaker per integration id, so a changed or deleted
// integration can drop its breaker and start afresh, and what reports the
// breakers (metrics) has one entry per integration however often it
// changes. It is safe for concurrent use.
type Breakers struct {
	cfg   BreakerConfig
	clock func() time.Time

	mu    sync.Mutex
	byID  map[string]revisioned
	hooks atomic.Pointer[[]func(id string, from, to BreakerState)] // copy on write; read by breakers under their own lock
}

// revisioned is a breaker and the integration revision it was made for.
type revisioned struct {
	*Breaker
	rev uint64
}

// NewBreakers returns an empty registry whose breakers use cfg and clock.
func NewBreakers(cfg BreakerConfig, clock func() time.Time) *Breakers {
	return &Breakers{cfg: cfg, clock: clock, byID: map[string]revisioned{}}
}

// Get returns the breaker of integration id, creating a closed one on first
// use; it is At(id, 0), for callers that do not track revisions.
func (r *Breakers) Get(id string) *Breaker { return r.At(id, 0) }

// At returns the breaker of integration id at revision rev. The first use
// of a newer revision replaces the breaker with a closed one, since a changed
// config says nothing of the old one's failures. A caller still holding an
// older revision gets a closed breaker that the registry does not keep, so
// a late result of a replaced config neither trips the current breaker nor
// brings a stale entry back.
func (r *Breakers) At(id string, rev uint64) *Breaker {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.byID[id]
	switch {
	case ok && cur.rev == rev:
		return cur.Breaker
	case ok && cur.rev > rev:
		return NewBreaker(r.cfg, r.clock)
	}
	b := NewBreaker(r.cfg, r.clock)
	b.OnStateChange(func(from, to BreakerState) {
		if hooks := r.hooks.Load(); hooks != nil {
			for _, fn := range *hooks {
				fn(id, from, to)
			}
		}
	})
	r.byID[id] = revisioned{Breaker: b, rev: rev}
	return b
}

// Remove drops the breaker of integration id, so the next Get starts closed.
// Call it when the integration is deleted.
func (r *Breakers) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byID, id)
}

// States returns the state of every breaker, by integration id.
func (r *Breakers) States() map[string]BreakerState {
	r.mu.Lock()
	snapshot := make(map[string]*Breaker, len(r.byID))
	for id, b := range r.byID {
		snapshot[id] = b.Breaker
	}
	r.mu.Unlock()

	// Breakers are read after the registry lock is released, so that no
	// code path holds both locks.
	states := make(map[string]BreakerState, len(snapshot))
	for id, b := range snapshot {
		states[id] = b.State()
	}
	return states
}

// OnStateChange adds fn to the functions called on each transition of any
// breaker in the registry (metrics, logs); the rules of
// Breaker.OnStateChange apply.
func (r *Breakers) OnStateChange(fn func(id string, from, to BreakerState)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var hooks []func(id string, from, to BreakerState)
	if old := r.hooks.Load(); old != nil {
		hooks = append(hooks, *old...)
	}
	hooks = append(hooks, fn)
	r.hooks.Store(&hooks)
}
