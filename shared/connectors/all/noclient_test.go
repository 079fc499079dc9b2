package all_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// ownTransport are the providers that need no client from the runtime:
// in-memory data, SMTP over the guarded dialer, and Teams, whose own client
// hides the webhook path (a secret) and follows no redirect.
var ownTransport = map[string]bool{"inmemory": true, "email": true, "teams": true}

// TestFactoriesRefuseToBuildWithoutTheGuardedClient: the runtime always
// hands a connector its guarded client; a factory given none refuses with
// INVALID_CONFIG instead of building an unguarded or differently guarded
// client of its own, and builds once it gets one.
func TestFactoriesRefuseToBuildWithoutTheGuardedClient(t *testing.T) {
	t.Parallel()
	env := echoEnv{URL: "https://127.0.0.1:9", SMTPHost: "127.0.0.1", SMTPPort: 25}
	for _, spec := range all.Specs() {
		target, ok := echoTargets[spec.ID]
		if !ok || spec.New == nil {
			continue
		}
		tc := target(env)[0]
		t.Run(spec.ID, func(t *testing.T) {
			t.Parallel()
			it := contracts.Integration{ID: "i", TenantID: "t", TypeID: spec.ID, Config: tc.config, CredentialRef: tc.credentialRef}
			conn, err := spec.New(context.Background(), connectors.Instance{Integration: it})
			if ownTransport[spec.ID] {
				if err != nil {
					t.Fatalf("New without a client: %v", err)
				}
				_ = conn.Close()
				return
			}
			if resilience.CodeOf(err) != resilience.InvalidConfig || !strings.Contains(err.Error(), "no HTTP client") {
				t.Fatalf("New without a client = %v, want INVALID_CONFIG", err)
			}
			conn, err = spec.New(context.Background(), connectors.Instance{Integration: it, HTTP: connectortest.HTTP(t, tc.config, nil)})
			if err != nil {
				t.Fatalf("New with a client: %v", err)
			}
			_ = conn.Close()
		})
	}
}
