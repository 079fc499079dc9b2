package httpx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/stella-ops/inthub/shared/resilience"
)

// limiter is one integration's outbound budget: a token bucket of requests
// per second, a semaphore of requests in flight, and the end of a quota the
// server said is spent. Every hop of the client's transport (redirects and
// token exchanges included) takes a token and a slot, so one large
// discovery cannot use up a tenant's quota at the vendor, or the vendor's
// patience.
type limiter struct {
	bucket *rate.Limiter // nil: no rate limit
	slots  chan struct{} // nil: no concurrency limit
	now    func() time.Time

	mu    sync.Mutex
	spent map[string]time.Time // host -> end of its spent quota; nil until one is
}

// newLimiter returns the budget; zero values leave that limit off.
func newLimiter(perSecond float64, burst, concurrent int) *limiter {
	l := &limiter{now: time.Now}
	if perSecond > 0 {
		if burst < 1 {
			burst = max(1, int(perSecond))
		}
		l.bucket = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	if concurrent > 0 {
		l.slots = make(chan struct{}, concurrent)
	}
	return l
}

// acquire waits for a slot and a token, or for ctx to end. A spent quota
// is answered at once as RATE_LIMITED with the time left, as the server's
// 429 would have been, so the retry strategy waits (or gives up) without
// spending a request. release must be called once the exchange is over.
func (l *limiter) acquire(ctx context.Context, host string) (release func(), err error) {
	if left := l.spentFor(host); left > 0 {
		return nil, &resilience.Error{Code: resilience.RateLimited, RetryAfter: left,
			Message: fmt.Sprintf("the server's request quota is spent (retry after %s)", left.Round(time.Second))}
	}
	release = func() {}
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, waitError(ctx)
		}
		var once sync.Once
		release = func() { once.Do(func() { <-l.slots }) }
	}
	if l.bucket != nil {
		if err := l.bucket.Wait(ctx); err != nil {
			release()
			return nil, waitError(ctx)
		}
	}
	return release, nil
}

// waitError is the coded error of a wait cut short by ctx (rate.Wait also
// refuses at once when ctx's deadline is before the next token).
func waitError(ctx context.Context) error {
	if ctx.Err() == context.Canceled {
		return &resilience.Error{Code: resilience.Timeout, Err: ctx.Err(), Message: "canceled while waiting for the integration's request limit"}
	}
	return &resilience.Error{Code: resilience.Timeout, Err: context.DeadlineExceeded, Message: "the integration's request limit leaves no room before the deadline"}
}

// spentFor is how long host's quota stays spent (0: not spent).
func (l *limiter) spentFor(host string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.spent[host]
	if !ok {
		return 0
	}
	left := until.Sub(l.now())
	if left <= 0 {
		delete(l.spent, host)
		return 0
	}
	// Resets are named in whole seconds: round up rather than come back
	// a moment before the quota does.
	return left.Truncate(time.Second) + min(left%time.Second, 1)*time.Second
}

// observe notes a successful response of host saying its quota is now
// spent (a remaining count of 0 with a named reset), so the next calls to
// host fail fast until the reset instead of earning a 429. A refusal (429,
// 403) already carries its delay to the retry strategy, which owns the
// wait. A window without a reset (Docker Hub's "0;w=21600") is not enough:
// the quota may come back much sooner, and some calls (tag lists) do not
// count against it.
func (l *limiter) observe(host string, status int, h http.Header) {
	if status >= 400 || !QuotaSpent(h) {
		return
	}
	now := l.now()
	if d, ok := resetOf(h, now); ok && d > 0 {
		l.mu.Lock()
		if l.spent == nil {
			// Allocated on first use: most integrations never see a
			// spent quota, and a hub holds one limiter per integration.
			l.spent = map[string]time.Time{}
		}
		l.spent[host] = now.Add(d)
		l.mu.Unlock()
	}
}

// QuotaSpent reports whether h says no request is left in the current
// window: RateLimit-Remaining, X-RateLimit-Remaining or X-Rate-Limit-Remaining
// of 0, in any spelling vendors use ("0", or Docker Hub's "0;w=21600").
func QuotaSpent(h http.Header) bool {
	for _, name := range remainingHeaders {
		if n, _, ok := quotaValue(h.Get(name)); ok {
			return n == 0
		}
	}
	return false
}

// remainingHeaders are the remaining-quota headers, most standard first.
var remainingHeaders = []string{"RateLimit-Remaining", "X-RateLimit-Remaining", "X-Rate-Limit-Remaining"}

// quotaValue parses "<n>" or "<n>;w=<seconds>" (the IETF draft's quota
// policy syntax Docker Hub sends); window is 0 when there is no w=.
func quotaValue(v string) (n int64, window time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, 0, false
	}
	head, params, _ := strings.Cut(v, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(head), 10, 64)
	if err != nil || n < 0 {
		return 0, 0, false
	}
	for p := range strings.SplitSeq(params, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "w") {
			if d, ok := parseSeconds(val); ok {
				window = d
			}
		}
	}
	return n, window, true
}

// limitedBody gives the slot back when the body is read to its end, fails
// or is closed, whichever comes first: the exchange holds the connection
// until then.
type limitedBody struct {
	io.ReadCloser
	release func()
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *limitedBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
