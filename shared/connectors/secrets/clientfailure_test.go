package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/resilience"
)

// timeoutError is what net/http's client Timeout leaves inside a url.Error:
// text and a Timeout method, nothing to errors.Is.
type timeoutError struct{}

func (timeoutError) Error() string { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutError) Timeout() bool { return true }

func TestClientFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want resilience.Code
	}{
		{"client timeout", &url.Error{Op: "Get", URL: "https://vault.example/v1/x?token=s3cr3t", Err: timeoutError{}}, resilience.Timeout},
		{"wrapped client timeout", fmt.Errorf("sdk: %w", &url.Error{Op: "Get", URL: "https://x", Err: timeoutError{}}), resilience.Timeout},
		{"deadline", fmt.Errorf("sdk: %w", context.DeadlineExceeded), resilience.Timeout},
		{"anything else", &url.Error{Op: "Get", URL: "https://vault.example/v1/x?token=s3cr3t", Err: errors.New("boom")}, resilience.UpstreamError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := secrets.ClientFailure("read secret", "the Vault client", tc.err)
			if got := resilience.CodeOf(err); got != tc.want {
				t.Fatalf("code %q (%v), want %q", got, err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "vault.example") {
				t.Fatalf("the SDK's text (URL) leaked: %v", err)
			}
		})
	}
}
