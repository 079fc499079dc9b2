package notifier

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/stella-ops/inthub/shared/resilience"
)

// maxLimiters bounds the limiter map; idle limiters (full buckets) are
// dropped past it, which forgets nothing a full bucket would remember.
const maxLimiters = 10000

// channelLimits is a token bucket per destination (tenant, integration,
// channel): Slack, for one, takes about one message per second per channel,
// and an outage of many integrations must not flood one channel.
type channelLimits struct {
	every rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newChannelLimits(every rate.Limit, burst int) *channelLimits {
	return &channelLimits{every: every, burst: burst, m: map[string]*rate.Limiter{}}
}

func (c *channelLimits) limiter(key string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.m[key]; ok {
		return l
	}
	if len(c.m) >= maxLimiters {
		now := time.Now()
		for k, l := range c.m {
			if l.TokensAt(now) >= float64(c.burst) {
				delete(c.m, k)
			}
		}
	}
	l := rate.NewLimiter(c.every, c.burst)
	c.m[key] = l
	return l
}

// wait blocks until key may send; a wait that would outlast ctx is a
// RATE_LIMITED error, retried on a later delivery.
func (c *channelLimits) wait(ctx context.Context, key string) error {
	if c.every == rate.Inf {
		return nil
	}
	l := c.limiter(key)
	if err := l.Wait(ctx); err != nil {
		r := l.Reserve()
		delay := r.Delay()
		r.Cancel()
		return &resilience.Error{Code: resilience.RateLimited, RetryAfter: delay,
			Message: "per-channel rate limit: no slot before the handler's deadline", Err: err}
	}
	return nil
}

// keyedMutex serialises work per key (one thread's messages), holding no
// memory for keys nobody holds.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
