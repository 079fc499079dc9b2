package resilience

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeTimer is a backoff.Timer that fires at once and advances a fake clock
// by each wait, so tests see the waits and the time of each call without
// sleeping. With fire false it never fires, to test cancellation mid-wait.
type fakeTimer struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
	c     chan time.Time
	fire  bool
}

func newFakeTimer() *fakeTimer { return &fakeTimer{c: make(chan time.Time, 1), fire: true} }

func (t *fakeTimer) Start(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waits = append(t.waits, d)
	t.now = t.now.Add(d)
	if t.fire {
		select {
		case t.c <- t.now:
		default:
		}
	}
}

func (t *fakeTimer) Stop()               {}
func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Now() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.now
}

func (t *fakeTimer) Waits() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Duration(nil), t.waits...)
}

// script returns an op that returns errs in turn, then nil, counting calls
// and recording the fake time of each.
func script(timer *fakeTimer, errs ...error) (op func(context.Context) error, calls *[]time.Time) {
	var at []time.Time
	return func(context.Context) error {
		at = append(at, timer.Now())
		if i := len(at) - 1; i < len(errs) {
			return errs[i]
		}
		return nil
	}, &at
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func TestStrategyForCoversEveryCode(t *testing.T) {
	t.Parallel()
	want := map[Code]Strategy{
		IntegrationNotFound:   NoRetry,
		AuthenticationFailed:  NoRetry,
		InvalidConfig:         NoRetry,
		NotSupported:          NoRetry,
		ResourceNotFound:      NoRetry,
		PermissionDenied:      NoRetry,
		DestinationBlocked:    NoRetry,
		IntegrationUnhealthy:  Backoff,
		CredentialFetchFailed: Backoff,
		ConnectionRefused:     Backoff,
		Timeout:               Backoff,
		UpstreamError:         Backoff,
		RateLimited:           AfterDelay,
	}
	for _, c := range Codes {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			if _, ok := strategies[c]; !ok {
				t.Fatalf("code %s is missing from the strategies table", c)
			}
			if got := StrategyFor(c); got != want[c] {
				t.Errorf("StrategyFor(%s) = %s, want %s", c, got, want[c])
			}
		})
	}
	if len(strategies) != len(Codes) {
		t.Errorf("strategies has %d codes, Codes has %d: the table lists a code outside the closed set", len(strategies), len(Codes))
	}
	if got := StrategyFor("NO_SUCH_CODE"); got != NoRetry {
		t.Errorf("unknown code: got %s, want no-retry", got)
	}
}

// noJitter makes backoff waits exact, to assert their growth.
func noJitter() Policy {
	p := DefaultPolicy()
	p.InitialInterval = 100 * time.Millisecond
	p.RandomizationFactor = 0
	return p
}

func TestDoWaits(t *testing.T) {
	t.Parallel()
	refused := New(ConnectionRefused, "dial registry.example.com")
	tests := []struct {
		name      string
		policy    Policy
		errs      []error
		wantCalls int
		wantErr   Code // "" means success
		wantWaits []time.Duration
	}{
		{
			name:      "authentication failed is called once",
			policy:    DefaultPolicy(),
			errs:      repeat(New(AuthenticationFailed, "bad token"), 10),
			wantCalls: 1,
			wantErr:   AuthenticationFailed,
			wantWaits: []time.Duration{},
		},
		{
			name:      "no-retry code after retryable ones stops at once",
			policy:    noJitter(),
			errs:      []error{refused, New(PermissionDenied, "no pull scope"), nil},
			wantCalls: 2,
			wantErr:   PermissionDenied,
			wantWaits: []time.Duration{100 * time.Millisecond},
		},
		{
			name:      "connection refused grows exponentially up to MaxAttempts",
			policy:    noJitter(),
			errs:      repeat(refused, 10),
			wantCalls: 5,
			wantErr:   ConnectionRefused,
			wantWaits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond},
		},
		{
			name: "backoff wait is capped by MaxInterval",
			policy: func() Policy {
				p := noJitter()
				p.MaxInterval = 300 * time.Millisecond
				return p
			}(),
			errs:      repeat(refused, 10),
			wantCalls: 5,
			wantErr:   ConnectionRefused,
			wantWaits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond},
		},
		{
			name:      "success after failures returns nil",
			policy:    noJitter(),
			errs:      []error{refused, New(Timeout, "no answer in 30s"), errors.New("uncoded: read EOF")},
			wantCalls: 4,
			wantWaits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
		},
		{
			name:      "rate limited waits exactly the server's delay",
			policy:    DefaultPolicy(),
			errs:      []error{&Error{Code: RateLimited, Message: "429", RetryAfter: 7 * time.Second}},
			wantCalls: 2,
			wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name:      "rate limited without a delay falls back to backoff",
			policy:    noJitter(),
			errs:      []error{New(RateLimited, "429 without Retry-After")},
			wantCalls: 2,
			wantWaits: []time.Duration{100 * time.Millisecond},
		},
		{
			name:      "retry-after beyond MaxRetryAfter gives up",
			policy:    DefaultPolicy(),
			errs:      []error{&Error{Code: RateLimited, Message: "429", RetryAfter: 6 * time.Minute}},
			wantCalls: 1,
			wantErr:   RateLimited,
			wantWaits: []time.Duration{},
		},
		{
			name:      "retry-after equal to MaxRetryAfter is waited",
			policy:    DefaultPolicy(),
			errs:      []error{&Error{Code: RateLimited, Message: "429", RetryAfter: 5 * time.Minute}},
			wantCalls: 2,
			wantWaits: []time.Duration{5 * time.Minute},
		},
		{
			name: "retry-after longer than MaxElapsed is still waited",
			policy: func() Policy {
				p := DefaultPolicy()
				p.MaxElapsed = time.Minute
				return p
			}(),
			errs:      []error{&Error{Code: RateLimited, Message: "429", RetryAfter: 2 * time.Minute}},
			wantCalls: 2,
			wantWaits: []time.Duration{2 * time.Minute},
		},
		{
			name:      "zero policy calls once",
			policy:    Policy{},
			errs:      repeat(refused, 10),
			wantCalls: 1,
			wantErr:   ConnectionRefused,
			wantWaits: []time.Duration{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			timer := newFakeTimer()
			op, calls := script(timer, tc.errs...)
			var notified []time.Duration
			err := Do(context.Background(), tc.policy, op, WithTimer(timer),
				WithNotify(func(_ error, wait time.Duration) { notified = append(notified, wait) }))

			if got := CodeOf(err); got != tc.wantErr {
				t.Errorf("code = %q, want %q (err: %v)", got, tc.wantErr, err)
			}
			if tc.wantErr != "" && !errors.Is(err, tc.errs[len(*calls)-1]) {
				t.Errorf("err %v does not wrap the last error %v", err, tc.errs[len(*calls)-1])
			}
			if len(*calls) != tc.wantCalls {
				t.Errorf("calls = %d, want %d", len(*calls), tc.wantCalls)
			}
			if got := timer.Waits(); !slices.Equal(got, tc.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tc.wantWaits)
			}
			if !slices.Equal(notified, tc.wantWaits) {
				t.Errorf("notified waits = %v, want %v", notified, tc.wantWaits)
			}
			// Each call happens exactly one wait after the previous one.
			for i := 1; i < len(*calls); i++ {
				if gap := (*calls)[i].Sub((*calls)[i-1]); gap != tc.wantWaits[i-1] {
					t.Errorf("call %d came %s after call %d, want %s", i+1, gap, i, tc.wantWaits[i-1])
				}
			}
		})
	}
}

func TestDoJitterStaysWithinBounds(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy() // 200ms initial, x2, ±50%
	for run := range 50 {
		timer := newFakeTimer()
		op, calls := script(timer, repeat(New(ConnectionRefused, "dial"), 10)...)
		err := Do(context.Background(), p, op, WithTimer(timer))
		if CodeOf(err) != ConnectionRefused || len(*calls) != p.MaxAttempts {
			t.Fatalf("run %d: err %v after %d calls, want CONNECTION_REFUSED after %d", run, err, len(*calls), p.MaxAttempts)
		}
		base := p.InitialInterval
		for i, w := range timer.Waits() {
			lo := time.Duration(float64(base) * (1 - p.RandomizationFactor))
			hi := time.Duration(float64(base)*(1+p.RandomizationFactor)) + 1
			if w < lo || w > hi {
				t.Errorf("run %d: wait %d = %s, want within [%s, %s]", run, i+1, w, lo, hi)
			}
			base = time.Duration(float64(base) * p.Multiplier)
		}
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	refused := New(ConnectionRefused, "dial")
	tests := []struct {
		name         string
		fire         bool // whether the fake timer fires
		cancelOnCall int  // cancel during this call (0: never)
		cancelInWait bool // cancel from the notify, i.e. just before a wait
		wantCalls    int
	}{
		{
			name:         "cancelled during the second call",
			fire:         true,
			cancelOnCall: 2,
			wantCalls:    2,
		},
		{
			name:         "cancelled while waiting",
			fire:         false,
			cancelInWait: true,
			wantCalls:    1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			timer := newFakeTimer()
			timer.fire = tc.fire
			calls := 0
			op := func(context.Context) error {
				calls++
				if calls == tc.cancelOnCall {
					cancel()
				}
				return refused
			}
			err := Do(ctx, DefaultPolicy(), op, WithTimer(timer), WithNotify(func(error, time.Duration) {
				if tc.cancelInWait {
					cancel()
				}
			}))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if !errors.Is(err, refused) || CodeOf(err) != ConnectionRefused {
				t.Errorf("err = %v, want it to wrap the last error and keep its code", err)
			}
			if calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tc.wantCalls)
			}
		})
	}
}

func TestDoDoesNotCallWithEndedContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := Do(ctx, DefaultPolicy(), func(context.Context) error { called = true; return nil }, WithTimer(newFakeTimer()))
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("err = %v, called = %v; want context.Canceled without a call", err, called)
	}
}

func TestWrapDefaultKeepsTheCodeOfACodedError(t *testing.T) {
	t.Parallel()
	refused := &Error{Code: InvalidConfig, Message: "credential reference: not allowed"}
	limited := &Error{Code: RateLimited, RetryAfter: 7 * time.Second}
	tests := []struct {
		name  string
		err   error
		code  Code
		after time.Duration
	}{
		{"uncoded error gets the default", errors.New("dial"), CredentialFetchFailed, 0},
		{"coded error keeps its code", refused, InvalidConfig, 0},
		{"coded error wrapped by fmt keeps its code", fmt.Errorf("resolve: %w", refused), InvalidConfig, 0},
		{"Retry-After survives", limited, RateLimited, 7 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := WrapDefault(CredentialFetchFailed, tc.err, "resolve the %s", "key")
			if CodeOf(err) != tc.code || RetryAfterOf(err) != tc.after || !errors.Is(err, tc.err) {
				t.Fatalf("got %v (code %s, after %s)", err, CodeOf(err), RetryAfterOf(err))
			}
		})
	}
	if WrapDefault(CredentialFetchFailed, nil, "x") != nil {
		t.Fatal("nil error wrapped")
	}
}
