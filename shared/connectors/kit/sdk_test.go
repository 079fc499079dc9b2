package kit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// TestSDKClient: an SDK's request goes through the guarded client with the
// header auth resolves for it, an answer the check refuses reaches the SDK
// as that coded error, and SDKError gives it back named by the operation,
// without the URL's query.
func TestSDKClient(t *testing.T) {
	t.Parallel()
	const secret = "sdk-token-0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token "+secret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/limited" {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t)
	calls := 0
	auth := func(context.Context) (kit.Auth, error) {
		calls++
		return kit.Scheme{Header: "Authorization", Prefix: "token "}.Render(secret), nil
	}
	hc := c.SDKClient(auth, nil)
	tests := []struct {
		name  string
		path  string
		want  resilience.Code
		after time.Duration
	}{
		{"answered", "/ok", "", 0},
		{"rate limited", "/limited?page=2", resilience.RateLimited, 7 * time.Second},
	}
	for _, tc := range tests {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+tc.path, nil)
		resp, err := hc.Do(req)
		if err == nil {
			kit.Drain(resp)
		}
		err = kit.SDKError("list things", err)
		if resilience.CodeOf(err) != tc.want || resilience.RetryAfterOf(err) != tc.after {
			t.Fatalf("%s: %v, want %q after %s", tc.name, err, tc.want, tc.after)
		}
		if err != nil && (strings.Contains(err.Error(), "page=2") || !strings.HasPrefix(err.Error(), "list things: ")) {
			t.Fatalf("%s: error text %q names the query or not the operation", tc.name, err)
		}
	}
	if calls != len(tests) {
		t.Fatalf("auth resolved %d times, want once per request", calls)
	}
	if _, err := c.SDKClient(func(context.Context) (kit.Auth, error) {
		return kit.Auth{}, resilience.New(resilience.CredentialFetchFailed, "vault sealed")
	}, nil).Get(srv.URL); resilience.CodeOf(kit.SDKError("x", err)) != resilience.CredentialFetchFailed {
		t.Fatalf("a credential that cannot be fetched: %v", err)
	}
}
