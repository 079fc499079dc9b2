package ingress

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAccessLogRate is INTHUB_ACCESS_LOG_RATE's default: at most this
// many access-log lines per second at info. One line per request at info
// was 63 MB of log in 90 s of load and a good part of a request's cost.
const DefaultAccessLogRate = 10

// accessSampler decides which requests get an info access-log line: up to
// rate lines a second (a token bucket holding one second's worth); the
// others are logged at debug, so a debug logger still sees every request.
// Server errors are always logged, at error, by the caller. A nil sampler
// logs every request at info (INTHUB_ACCESS_LOG_RATE below zero).
type accessSampler struct {
	rate float64
	mu   sync.Mutex
	// tokens is how many lines may be written now; last is when it was
	// topped up. dropped counts the requests logged at debug since the
	// last info line, which reports them.
	tokens  float64
	last    time.Time
	dropped atomic.Int64
	now     func() time.Time
	// readyAt is when the next token is due (Unix ns) while the bucket is
	// empty, 0 otherwise: until then a request is sent to debug without
	// the lock (nearly every request under load, all contending for it).
	// The bucket refills linearly, so skipping its update in between
	// changes nothing. wait is the longest readyAt can be ahead (one
	// token's time): a readyAt further off (the wall clock went back) is
	// not trusted, the locked path decides.
	readyAt atomic.Int64
	wait    int64
}

// newAccessSampler returns a sampler of rate lines per second; nil (every
// line) for a negative rate, and the default for 0.
func newAccessSampler(rate float64) *accessSampler {
	switch {
	case rate < 0:
		return nil
	case rate == 0:
		rate = DefaultAccessLogRate
	}
	return &accessSampler{rate: rate, tokens: rate, now: time.Now, wait: int64(float64(time.Second)/rate) + 1}
}

// take says whether this request gets an info line and, if so, how many
// requests went to debug since the previous one.
func (s *accessSampler) take() (info bool, skipped int64) {
	if s == nil {
		return true, 0
	}
	now := s.now()
	if ready := s.readyAt.Load(); ready != 0 {
		if ahead := ready - now.UnixNano(); ahead > 0 && ahead <= s.wait {
			s.dropped.Add(1)
			return false, 0
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() {
		s.tokens = min(s.rate, s.tokens+now.Sub(s.last).Seconds()*s.rate)
	}
	s.last = now
	if s.tokens < 1 {
		s.dropped.Add(1)
		s.readyAt.Store(now.UnixNano() + int64((1-s.tokens)/s.rate*float64(time.Second)))
		return false, 0
	}
	s.tokens--
	s.readyAt.Store(0)
	if s.tokens < 1 {
		s.readyAt.Store(now.UnixNano() + int64((1-s.tokens)/s.rate*float64(time.Second)))
	}
	return true, s.dropped.Swap(0)
}
