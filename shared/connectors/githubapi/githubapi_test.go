package githubapi_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/githubapi"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestCheck: every way GitHub says "wait" is RATE_LIMITED with its wait;
// a 403 that is not one stays PERMISSION_DENIED.
func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_760_000_000, 0)
	hc, err := kit.NewClient(connectors.Instance{HTTP: connectortest.HTTP(t, nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	hc.Now = func() time.Time { return now }
	reset := strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10)
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   resilience.Code
		wait   time.Duration
	}{
		{"200", 200, nil, `[]`, "", 0},
		{"primary limit, 403", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, `{"message":"API rate limit exceeded"}`, resilience.RateLimited, 2 * time.Minute},
		{"secondary limit with Retry-After", 429, map[string]string{"X-RateLimit-Remaining": "4000", "Retry-After": "30"}, `{"message":"You have exceeded a secondary rate limit."}`, resilience.RateLimited, 30 * time.Second},
		{"secondary limit, the message alone", 403, map[string]string{"X-RateLimit-Remaining": "4000"}, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`, resilience.RateLimited, time.Minute},
		{"abuse detection, the message alone", 403, nil, `{"message":"You have triggered an abuse detection mechanism."}`, resilience.RateLimited, time.Minute},
		{"a 403 that is no limit", 403, map[string]string{"X-RateLimit-Remaining": "4000"}, `{"message":"Resource not accessible by integration"}`, resilience.PermissionDenied, 0},
		{"401", 401, nil, `{"message":"Bad credentials"}`, resilience.AuthenticationFailed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			err := githubapi.Check(hc, resp)
			if resilience.CodeOf(err) != tc.want || resilience.RetryAfterOf(err) != tc.wait {
				t.Fatalf("Check = %v (wait %s), want %q with %s", err, resilience.RetryAfterOf(err), tc.want, tc.wait)
			}
		})
	}
}

// TestToken: the token becomes a Bearer header per call; none is
// anonymous; a token holding whitespace (a paste error) is refused
// without being quoted.
func TestToken(t *testing.T) {
	t.Parallel()
	const token = "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
	tests := []struct {
		name, secret, ref string
		want              resilience.Code
		header            string
	}{
		{"a token", `{"token":"` + token + `"}`, "env://GH", "", "Bearer " + token},
		{"no credential reference", "", "", "", ""},
		{"a token with a space", `{"token":"ghp_0123 456789"}`, "env://GH", resilience.InvalidConfig, ""},
		{"basic credentials", `{"username":"u","password":"p"}`, "env://GH", resilience.InvalidConfig, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := testsvc.EnvCredentials(map[string]string{"GH": tc.secret})
			auth, err := githubapi.Token(context.Background(), src, tc.ref)
			connectortest.CheckCode(t, err, tc.want, token, "ghp_0123 456789")
			if auth.Value != tc.header {
				t.Fatalf("header %q, want %q", auth.Value, tc.header)
			}
		})
	}
}
