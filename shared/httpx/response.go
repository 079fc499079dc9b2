package httpx

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

// epochThreshold separates X-RateLimit-Reset spellings: GitHub and Twitter
// send a Unix time, others a delay in seconds. No delay is 30 years long.
const (
	epochThreshold   = 1e9  // 2001-09-09 in Unix seconds
	epochMillisStart = 1e12 // beyond year 33000 in seconds: must be milliseconds
	epochMicrosStart = 1e15 // beyond year 33000 in milliseconds: microseconds (Dynatrace)
)

// RetryAfter returns how long the server asks us to wait, from Retry-After
// (seconds or HTTP-date), RateLimit-Reset (seconds), X-RateLimit-Reset or
// X-Rate-Limit-Reset (Unix time, or seconds when small), in that order, or
// else the window of a spent quota (Docker Hub's "ratelimit-remaining:
// 0;w=21600"). A reset time already past gives 0, true.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := resetOf(h, now); ok {
		return d, true
	}
	// Docker Hub names no reset, only the window of a spent quota
	// ("ratelimit-remaining: 0;w=21600"): the window is the longest wait.
	for _, name := range remainingHeaders {
		if n, window, ok := quotaValue(h.Get(name)); ok {
			if n == 0 && window > 0 {
				return window, true
			}
			break
		}
	}
	return 0, false
}

// resetOf is RetryAfter from the headers that name the reset itself.
func resetOf(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if d, ok := parseSeconds(v); ok {
			return d, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	if d, ok := parseSeconds(h.Get("RateLimit-Reset")); ok {
		return d, true
	}
	for _, name := range []string{"X-RateLimit-Reset", "X-Rate-Limit-Reset"} {
		if d, ok := parseReset(h.Get(name), now); ok {
			return d, true
		}
	}
	return 0, false
}

// parseSeconds reads a non-negative delay in (possibly fractional) seconds.
func parseSeconds(v string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f >= epochThreshold {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// parseReset reads an X-RateLimit-Reset value: a delay when small, else a
// Unix time in seconds (or milliseconds, as a few APIs send, or
// microseconds, as Dynatrace does).
func parseReset(v string, now time.Time) (time.Duration, bool) {
	if d, ok := parseSeconds(v); ok {
		return d, true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < epochThreshold {
		return 0, false
	}
	switch {
	case f >= epochMicrosStart:
		f /= 1e6
	case f >= epochMillisStart:
		f /= 1000
	}
	if f >= epochMillisStart { // not a time any API means
		return 0, false
	}
	sec, frac := math.Modf(f)
	at := time.Unix(int64(sec), int64(frac*float64(time.Second)))
	return max(at.Sub(now), 0), true
}

// CheckResponse turns an HTTP error status into a *resilience.Error (nil for
// 1xx, 2xx and 3xx). Its message names method, host, path and status, plus a
// short sanitized snippet of the body; the body stays readable in full.
func CheckResponse(resp *http.Response, now time.Time) error {
	if resp == nil {
		return resilience.New(resilience.UpstreamError, "no HTTP response")
	}
	if resp.StatusCode < 400 {
		return nil
	}
	code, retryAfter := StatusCode(resp.StatusCode, resp.Header, now)
	hide := false
	var scrub func(string) string
	if resp.Request != nil {
		hide, _ = resp.Request.Context().Value(hidePathKey{}).(bool)
		scrub, _ = resp.Request.Context().Value(scrubKey{}).(func(string) string)
	}
	msg := fmt.Sprintf("%s: HTTP %d %s", describe(resp.Request, hide), resp.StatusCode, http.StatusText(resp.StatusCode))
	if retryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", retryAfter)
	}
	if s := bodySnippet(resp, scrub); s != "" {
		msg += ": " + strconv.Quote(s)
	}
	return &resilience.Error{Code: code, Message: msg, RetryAfter: retryAfter}
}

// StatusCode maps an HTTP error status (and its rate-limit headers, h may
// be nil) to the hub's code and the delay the server asked for. It is the
// one status table: CheckResponse uses it, and so do SDK-based connectors
// whose client hands them only a status and headers. A status below 400 is
// INVALID_CONFIG: a redirect or informational answer nobody followed.
func StatusCode(status int, h http.Header, now time.Time) (resilience.Code, time.Duration) {
	switch s := status; {
	case s == http.StatusUnauthorized:
		return resilience.AuthenticationFailed, 0
	case s == http.StatusForbidden:
		// GitHub answers an exhausted quota (primary: Remaining 0; secondary:
		// Retry-After) with 403, not 429.
		if strings.TrimSpace(h.Get("X-RateLimit-Remaining")) == "0" || h.Get("Retry-After") != "" {
			d, _ := RetryAfter(h, now)
			return resilience.RateLimited, d
		}
		return resilience.PermissionDenied, 0
	case s == http.StatusNotFound, s == http.StatusGone:
		return resilience.ResourceNotFound, 0
	case s == http.StatusRequestTimeout, s == http.StatusGatewayTimeout:
		return resilience.Timeout, 0
	case s == http.StatusTooManyRequests:
		d, _ := RetryAfter(h, now)
		return resilience.RateLimited, d
	case s == http.StatusServiceUnavailable:
		// Retry-After on 503 is the server shedding load: wait as asked.
		if h.Get("Retry-After") != "" {
			if d, ok := RetryAfter(h, now); ok {
				return resilience.RateLimited, d
			}
		}
		return resilience.UpstreamError, 0
	case s >= 500:
		return resilience.UpstreamError, 0
	}
	return resilience.InvalidConfig, 0
}
