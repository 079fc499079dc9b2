package httpx

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		wantOK bool
	}{
		{"none", header(), 0, false},
		{"retry-after seconds", header("Retry-After", "120"), 2 * time.Minute, true},
		{"retry-after zero", header("Retry-After", "0"), 0, true},
		{"retry-after http-date", header("Retry-After", "Sun, 01 Mar 2026 12:01:30 GMT"), 90 * time.Second, true},
		{"retry-after date in the past", header("Retry-After", "Sun, 01 Mar 2026 11:00:00 GMT"), 0, true},
		{"retry-after garbage falls through", header("Retry-After", "soon", "RateLimit-Reset", "7"), 7 * time.Second, true},
		{"retry-after negative ignored", header("Retry-After", "-5"), 0, false},
		{"retry-after wins over reset", header("Retry-After", "3", "X-RateLimit-Reset", "1772366460"), 3 * time.Second, true},
		{"ratelimit-reset seconds", header("RateLimit-Reset", "42"), 42 * time.Second, true},
		{"github x-ratelimit-reset epoch", header("X-RateLimit-Reset", "1772366460"), time.Minute, true},
		{"x-ratelimit-reset small is a delay", header("X-RateLimit-Reset", "30"), 30 * time.Second, true},
		{"x-ratelimit-reset fractional epoch", header("X-RateLimit-Reset", "1772366400.5"), 500 * time.Millisecond, true},
		{"x-ratelimit-reset epoch millis", header("X-RateLimit-Reset", "1772366410000"), 10 * time.Second, true},
		{"x-ratelimit-reset epoch micros (Dynatrace)", header("X-RateLimit-Reset", "1772366410000000"), 10 * time.Second, true},
		{"x-ratelimit-reset past epoch", header("X-RateLimit-Reset", "1772366000"), 0, true},
		{"x-rate-limit-reset (twitter)", header("X-Rate-Limit-Reset", "1772366405"), 5 * time.Second, true},
		{"x-ratelimit-reset absurd", header("X-RateLimit-Reset", "1e300"), 0, false},
		{"x-ratelimit-reset NaN", header("X-RateLimit-Reset", "NaN"), 0, false},
		{"docker hub spent quota: the window", header("Ratelimit-Remaining", "0;w=21600"), 6 * time.Hour, true},
		{"docker hub quota left: no wait", header("Ratelimit-Remaining", "76;w=21600"), 0, false},
		{"spent quota without a window: no wait", header("X-RateLimit-Remaining", "0"), 0, false},
		{"named reset wins over the window", header("Ratelimit-Remaining", "0;w=21600", "RateLimit-Reset", "9"), 9 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := RetryAfter(tc.header, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("RetryAfter = %s, %v; want %s, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// response builds a response to GET https://api.example.com/v1/repos?token=….
func response(status int, h http.Header, body string) *http.Response {
	u, _ := url.Parse("https://user:pw@api.example.com/v1/repos?access_token=QUERYSECRET")
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{
		StatusCode: status,
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    &http.Request{Method: http.MethodGet, URL: u, Header: header("Authorization", "Bearer HEADERSECRET")},
	}
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	json := "application/json"
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		wantCode   resilience.Code // "" = nil error
		wantRetry  time.Duration
		wantMsg    []string
		wantNotMsg []string
	}{
		{name: "200", status: 200},
		{name: "204", status: 204},
		{name: "304", status: 304},
		{name: "401", status: 401, header: header("Content-Type", json), body: `{"message":"Bad credentials"}`,
			wantCode: resilience.AuthenticationFailed,
			wantMsg:  []string{"GET https://api.example.com/v1/repos: HTTP 401 Unauthorized", "Bad credentials"}},
		{name: "403 permission", status: 403, wantCode: resilience.PermissionDenied},
		{name: "403 github primary rate limit", status: 403,
			header:   header("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1772366700"),
			wantCode: resilience.RateLimited, wantRetry: 5 * time.Minute, wantMsg: []string{"retry after 5m0s"}},
		{name: "403 github secondary rate limit", status: 403, header: header("Retry-After", "60"),
			wantCode: resilience.RateLimited, wantRetry: time.Minute},
		{name: "403 with quota left", status: 403, header: header("X-RateLimit-Remaining", "12"),
			wantCode: resilience.PermissionDenied},
		{name: "404", status: 404, wantCode: resilience.ResourceNotFound, wantMsg: []string{"HTTP 404 Not Found"}},
		{name: "410", status: 410, wantCode: resilience.ResourceNotFound},
		{name: "408", status: 408, wantCode: resilience.Timeout},
		{name: "504", status: 504, wantCode: resilience.Timeout},
		{name: "429 with retry-after", status: 429, header: header("Retry-After", "30"),
			wantCode: resilience.RateLimited, wantRetry: 30 * time.Second},
		{name: "429 with http-date", status: 429, header: header("Retry-After", "Sun, 01 Mar 2026 12:00:10 GMT"),
			wantCode: resilience.RateLimited, wantRetry: 10 * time.Second},
		{name: "429 with ratelimit-reset", status: 429, header: header("RateLimit-Reset", "12"),
			wantCode: resilience.RateLimited, wantRetry: 12 * time.Second},
		{name: "429 without headers", status: 429, wantCode: resilience.RateLimited, wantRetry: 0},
		{name: "503 with retry-after", status: 503, header: header("Retry-After", "5"),
			wantCode: resilience.RateLimited, wantRetry: 5 * time.Second},
		{name: "503 without retry-after", status: 503, wantCode: resilience.UpstreamError},
		{name: "500", status: 500, wantCode: resilience.UpstreamError},
		{name: "502 html body", status: 502, header: header("Content-Type", "text/html"),
			body:     "<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
			wantCode: resilience.UpstreamError, wantMsg: []string{`"502 Bad Gateway nginx"`}, wantNotMsg: []string{"<"}},
		{name: "400", status: 400, wantCode: resilience.InvalidConfig},
		{name: "422", status: 422, wantCode: resilience.InvalidConfig},
		{name: "binary body not quoted", status: 400, header: header("Content-Type", "application/octet-stream"),
			body: "\x00\x01secret", wantCode: resilience.InvalidConfig, wantNotMsg: []string{"secret"}},
		{name: "echoed credentials redacted", status: 401, header: header("Content-Type", json),
			body:       `{"error":"invalid token","token":"ghp_abc","hint":"Bearer abcdefgh123","key":"AKIAIOSFODNN7EXAMPLEKEYXYZ1"}`,
			wantCode:   resilience.AuthenticationFailed,
			wantMsg:    []string{"invalid token", "[redacted]"},
			wantNotMsg: []string{"ghp_abc", "abcdefgh123", "AKIAIOSFODNN7EXAMPLEKEYXYZ1"}},
		{name: "long body cut", status: 500, header: header("Content-Type", "text/plain"),
			body: strings.Repeat("word ", 1000), wantCode: resilience.UpstreamError, wantMsg: []string{"…"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := response(tc.status, tc.header, tc.body)
			err := CheckResponse(resp, now)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if code := codeOf(t, err); code != tc.wantCode {
				t.Fatalf("code = %s (%v), want %s", code, err, tc.wantCode)
			}
			if got := resilience.RetryAfterOf(err); got != tc.wantRetry {
				t.Errorf("RetryAfter = %s, want %s", got, tc.wantRetry)
			}
			msg := err.Error()
			for _, s := range tc.wantMsg {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q lacks %q", msg, s)
				}
			}
			for _, s := range append(tc.wantNotMsg, "QUERYSECRET", "HEADERSECRET", "access_token", "pw@") {
				if strings.Contains(msg, s) {
					t.Errorf("message %q contains %q", msg, s)
				}
			}
			if len(msg) > 400 {
				t.Errorf("message is %d bytes long: %q", len(msg), msg)
			}
			// The caller can still read the whole body.
			if body, _ := io.ReadAll(resp.Body); string(body) != tc.body {
				t.Errorf("body after CheckResponse = %q, want %q", body, tc.body)
			}
		})
	}
}

func TestCheckResponseNil(t *testing.T) {
	t.Parallel()
	if code := resilience.CodeOf(CheckResponse(nil, now)); code != resilience.UpstreamError {
		t.Errorf("code = %s, want UPSTREAM_ERROR", code)
	}
}

func TestStatusCodeWithoutAResponse(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		status int
		h      http.Header
		want   resilience.Code
		wait   time.Duration
	}{
		{http.StatusUnauthorized, nil, resilience.AuthenticationFailed, 0},
		{http.StatusForbidden, nil, resilience.PermissionDenied, 0},
		{http.StatusNotFound, nil, resilience.ResourceNotFound, 0},
		{http.StatusTooManyRequests, http.Header{"Retry-After": {"9"}}, resilience.RateLimited, 9 * time.Second},
		{http.StatusServiceUnavailable, nil, resilience.UpstreamError, 0},
		{http.StatusMovedPermanently, nil, resilience.InvalidConfig, 0},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			code, wait := StatusCode(tc.status, tc.h, now)
			if code != tc.want || wait != tc.wait {
				t.Fatalf("StatusCode(%d) = %s, %s; want %s, %s", tc.status, code, wait, tc.want, tc.wait)
			}
		})
	}
}
