package vault

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// A Vault address the outbound guard refuses is DESTINATION_BLOCKED through
// the Vault client's wrapping, for every check, a login and a read, and is
// not retried.
func TestAddressBlocked(t *testing.T) {
	t.Parallel()
	fake := rootFake(t)
	deny := httpx.GuardPolicy{}
	tests := []struct {
		name string
		url  string
		auth map[string]any // beyond url
		env  map[string]string
	}{
		{name: "cloud metadata", url: "http://169.254.169.254:8200", env: tokenEnv()},
		{name: "loopback (the fake)", url: fake.URL, env: tokenEnv()},
		{name: "documentation address", url: "https://203.0.113.7:8200", env: tokenEnv()},
		{name: "approle login at loopback", url: fake.URL,
			auth: map[string]any{"authMethod": "approle", "roleId": "role-1", "secretIdRef": "env://SECRET_ID"},
			env:  map[string]string{"SECRET_ID": appSecret}},
	}
	for _, tc := range tests {
		for _, op := range []string{"connectivity", "authentication", "functionality", "read"} {
			t.Run(tc.name+" "+op, func(t *testing.T) {
				t.Parallel()
				cfg := map[string]any{"url": tc.url}
				for k, v := range tc.auth {
					cfg[k] = v
				}
				c := testConnector(t, fake, setup{config: cfg, env: tc.env, policy: &deny})
				calls := 0
				err := resilience.Do(ctxT(t), fastRetry, func(ctx context.Context) error {
					calls++
					switch op {
					case "connectivity":
						return c.CheckConnectivity(ctx)
					case "authentication":
						return c.CheckAuthentication(ctx)
					case "functionality":
						return c.CheckFunctionality(ctx)
					}
					_, err := c.ReadSecret(ctx, "app/db")
					return err
				})
				checkErr(t, err, resilience.DestinationBlocked, nil)
				if host := tc.url[strings.Index(tc.url, "//")+2:]; !strings.Contains(err.Error(), strings.Split(host, ":")[0]) ||
					!strings.Contains(err.Error(), "outbound policy") {
					t.Errorf("error %q does not name %s and the outbound policy", err, host)
				}
				if calls != 1 {
					t.Errorf("tried %d times, want 1 (a blocked destination is not retried)", calls)
				}
			})
		}
	}
}

// fastRetry retries as the hub does, without the waits.
var fastRetry = resilience.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 3, Multiplier: 1}
