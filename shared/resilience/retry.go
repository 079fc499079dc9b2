package resilience

import (
	"context"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Strategy is how a failed call is retried; StrategyFor decides it by code so
// no handler has to guess.
type Strategy int

const (
	// NoRetry stops at once: the same call would fail the same way.
	NoRetry Strategy = iota
	// Backoff retries with exponential backoff and jitter, because the
	// failure may be transient and clients must not retry in step.
	Backoff
	// AfterDelay waits exactly the delay the server asked for (Retry-After),
	// falling back to Backoff when it gave none.
	AfterDelay
)

// String names the strategy for logs.
func (s Strategy) String() string {
	switch s {
	case NoRetry:
		return "no-retry"
	case Backoff:
		return "backoff"
	case AfterDelay:
		return "after-delay"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// strategies is the one place that decides retrying by code; the README's
// error-code table shows it. A test checks that it covers every code in
// Codes.
var strategies = map[Code]Strategy{
	IntegrationNotFound:  NoRetry,
	AuthenticationFailed: NoRetry,
	InvalidConfig:        NoRetry,
	NotSupported:         NoRetry,
	ResourceNotFound:     NoRetry,
	PermissionDenied:     NoRetry,
	DestinationBlocked:   NoRetry,

	IntegrationUnhealthy:  Backoff,
	CredentialFetchFailed: Backoff,
	ConnectionRefused:     Backoff,
	Timeout:               Backoff,
	UpstreamError:         Backoff,

	RateLimited: AfterDelay,
}

// StrategyFor returns the retry strategy for c; a code outside the table is
// not retried, since retrying an unclassified error could hammer a remote.
func StrategyFor(c Code) Strategy {
	if s, ok := strategies[c]; ok {
		return s
	}
	return NoRetry
}

// Policy bounds retrying; start from DefaultPolicy and change what differs,
// because a zero field means "none" (a zero Policy calls once and stops).
type Policy struct {
	// InitialInterval is the first backoff wait, before jitter.
	InitialInterval time.Duration
	// MaxInterval caps a backoff wait, before jitter.
	MaxInterval time.Duration
	// MaxElapsed stops backoff retries once this much time has passed since
	// the first call; zero means no limit. A server's Retry-After is bounded
	// by MaxRetryAfter instead, since the server knows when it will answer.
	MaxElapsed time.Duration
	// MaxAttempts counts calls, the first included; below 1 means one call.
	MaxAttempts int
	// Multiplier grows the backoff wait after each failure.
	Multiplier float64
	// RandomizationFactor spreads each wait over wait*(1±factor) so that
	// clients failing together do not retry together.
	RandomizationFactor float64
	// MaxRetryAfter is the longest server-requested delay we agree to wait;
	// a longer one gives up with the error rather than hold a caller for it.
	MaxRetryAfter time.Duration
}

// DefaultPolicy returns the hub's retry bounds for calls to a remote.
func DefaultPolicy() Policy {
	return Policy{
		InitialInterval:     200 * time.Millisecond,
		MaxInterval:         10 * time.Second,
		MaxElapsed:          2 * time.Minute,
		MaxAttempts:         5,
		Multiplier:          2,
		RandomizationFactor: 0.5,
		MaxRetryAfter:       5 * time.Minute,
	}
}

// Option changes how Do waits or reports; the defaults sleep on a real
// timer and report nothing.
type Option func(*doOptions)

type doOptions struct {
	timer  backoff.Timer
	notify func(err error, wait time.Duration)
}

// WithTimer makes Do wait on t, so tests can inject a fake timer and never sleep.
func WithTimer(t backoff.Timer) Option {
	return func(o *doOptions) { o.timer = t }
}

// WithNotify calls fn with the error and the coming wait before each retry,
// for logs and metrics.
func WithNotify(fn func(err error, wait time.Duration)) Option {
	return func(o *doOptions) { o.notify = fn }
}

// Do calls op until it succeeds or its error's code says to stop, waiting
// between calls as StrategyFor(code) says, within p. It returns nil on
// success; the last error (keeping its code) when the code forbids retrying
// or the attempts or time run out; and the context's error wrapped with the
// last error when ctx ends first.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error, opts ...Option) error {
	var o doOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	r := &retrier{policy: p, exp: p.exponential()}
	var b backoff.BackOff = r
	b = backoff.WithMaxRetries(b, p.retries())
	b = backoff.WithContext(b, ctx)

	err := backoff.RetryNotifyWithTimer(func() error {
		r.attempts++
		r.last = op(ctx)
		return r.classify(r.last)
	}, b, o.notify, o.timer)

	switch cerr := ctx.Err(); {
	case err == nil:
		return nil
	case cerr != nil && err == cerr && r.last != nil && r.last != cerr:
		// The backoff library returns the bare context error; keep the
		// remote's error too, since it says why we were still retrying.
		return fmt.Errorf("%w; last error: %w", cerr, r.last)
	case err == r.last && r.attempts > 1 && StrategyFor(CodeOf(err)) != NoRetry:
		return fmt.Errorf("gave up after %d attempts: %w", r.attempts, err)
	}
	return err
}

// retries converts MaxAttempts (calls) to the library's count of retries.
func (p Policy) retries() uint64 {
	if p.MaxAttempts < 1 {
		return 0
	}
	return uint64(p.MaxAttempts - 1)
}

func (p Policy) exponential() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		backoff.WithMaxElapsedTime(p.MaxElapsed),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithRandomizationFactor(p.RandomizationFactor),
	)
}

// retrier is the backoff.BackOff of one Do call: it sees the last error, so
// a rate-limited call waits the server's delay instead of the exponential one.
type retrier struct {
	policy   Policy
	exp      *backoff.ExponentialBackOff
	last     error
	attempts int
}

// classify marks errors that must not be retried as permanent.
func (r *retrier) classify(err error) error {
	if err == nil {
		return nil
	}
	switch StrategyFor(CodeOf(err)) {
	case NoRetry:
		return backoff.Permanent(err)
	case AfterDelay:
		if wait := RetryAfterOf(err); wait > r.policy.MaxRetryAfter {
			return backoff.Permanent(fmt.Errorf("server asks to wait %s, more than the %s allowed: %w",
				wait, r.policy.MaxRetryAfter, err))
		}
	}
	return err
}

// NextBackOff implements backoff.BackOff.
func (r *retrier) NextBackOff() time.Duration {
	if StrategyFor(CodeOf(r.last)) == AfterDelay {
		if wait := RetryAfterOf(r.last); wait > 0 {
			return wait // classify already refused waits over MaxRetryAfter
		}
	}
	return r.exp.NextBackOff()
}

// Reset implements backoff.BackOff.
func (r *retrier) Reset() { r.exp.Reset() }
