package ingress

import (
	"sync"
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
	dropped int64
	now     func() time.Time
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
	return &accessSampler{rate: rate, tokens: rate, now: time.Now}
}

// take says whether this request gets an info line and, if so, how many
// requests went to debug since the previous one.
func (s *accessSampler) take() (info bool, skipped int64) {
	if s == nil {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !s.last.IsZero() {
		s.tokens = min(s.rate, s.tokens+now.Sub(s.last).Seconds()*s.rate)
	}
	s.last = now
	if s.tokens < 1 {
		s.dropped++
		return false, 0
	}
	s.tokens--
	skipped, s.dropped = s.dropped, 0
	return true, skipped
}
