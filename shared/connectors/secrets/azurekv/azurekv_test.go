package azurekv

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/secrets/secretstest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	clientID     = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
	clientSecret = "LEAK-azure-client-secret-4b2a"
	value        = "LEAK-azure-stored-value-91cd"
)

// target builds the connector under test (no ambient identity).
var target = secretstest.Target[*Connector]{Spec: Spec, ID: "akv-1", Env: "AZURE_SECRET",
	New: func(in connectors.Instance) (*Connector, error) {
		return newConnector(in, func() bool { return false })
	}}

func newTestConnector(t *testing.T, f *fakeAzure, config map[string]any, secret string) *Connector {
	t.Helper()
	return newGuardedConnector(t, f, httpx.GuardPolicy{AllowPrivate: true}, config, secret)
}

// newGuardedConnector is newTestConnector under the given outbound policy.
func newGuardedConnector(t *testing.T, f *fakeAzure, policy httpx.GuardPolicy, config map[string]any, secret string) *Connector {
	t.Helper()
	return secretstest.Connect(t, target, map[string]any{"url": f.srv.URL, "authorityHost": f.srv.URL, "tenantId": fakeTenant, "clientId": clientID,
		"caCert": f.caPEM(), "skipChallengeResourceVerification": true, "timeout": float64(5)}, config, policy, secret)
}

// provider is the runners' view of this package's tests, on fake f.
func provider(f *fakeAzure) secretstest.Provider[*fakeAzure, *Connector] {
	return secretstest.Provider[*fakeAzure, *Connector]{
		Name: ProviderID, Fake: f, Cred: clientSecret, Secrets: []string{clientSecret, value},
		Connect: func(t *testing.T, s secretstest.Setup[*fakeAzure]) *Connector {
			return newTestConnector(t, s.Fake, s.Config, s.Cred)
		},
	}
}

func ctxT(t *testing.T) context.Context { return secretstest.Context(t) }

func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	secretstest.CheckErr(t, ProviderID, err, want, nil, clientSecret, value)
}

func TestReadSecret(t *testing.T) {
	t.Parallel()
	f := startAzure(t)
	f.addClient(clientID, clientSecret)
	f.addClient("0f1e2d3c-aaaa-bbbb-cccc-000000000002", clientSecret, "allowed")
	f.put("registry", `{"username":"alice","password":"`+value+`"}`)
	old := f.put("token", "old-"+value)
	cur := f.put("token", value)
	f.put("disabled", value)
	f.secrets["disabled"][0].enabled = false
	type setup = secretstest.Setup[*fakeAzure]
	secretstest.RunReads(t, provider(f), []secretstest.ReadCase[*fakeAzure]{
		{Name: "json secret", Path: "registry", Want: map[string]string{"username": "alice", "password": value}},
		{Name: "current version", Path: "token", Want: map[string]string{"value": value}, Version: cur},
		{Name: "given version", Path: "token/" + old, Want: map[string]string{"value": "old-" + value}, Version: old},
		{Name: "missing", Path: "nope", Code: resilience.ResourceNotFound},
		{Name: "missing version", Path: "token/00000000000000000000000000000000", Code: resilience.ResourceNotFound},
		{Name: "disabled", Path: "disabled", Code: resilience.ResourceNotFound},
		{Name: "access policy denies", Setup: setup{Config: map[string]any{"clientId": "0f1e2d3c-aaaa-bbbb-cccc-000000000002"}}, Path: "token",
			Code: resilience.PermissionDenied},
		{Name: "wrong client secret", Setup: setup{Cred: "wrong"}, Path: "token", Code: resilience.AuthenticationFailed},
		{Name: "unknown client", Setup: setup{Config: map[string]any{"clientId": "0f1e2d3c-aaaa-bbbb-cccc-00000000000f"}}, Path: "token",
			Code: resilience.AuthenticationFailed},
		{Name: "secret unset", Setup: setup{Cred: secretstest.NoCredential}, Path: "token", Code: resilience.CredentialFetchFailed},
		{Name: "bad path", Path: "a/b/c", Code: resilience.InvalidConfig},
	})
}

func TestTokenCachedAndThrottle(t *testing.T) {
	t.Parallel()
	f := startAzure(t)
	f.addClient(clientID, clientSecret)
	f.put("token", value)
	c := newTestConnector(t, f, nil, clientSecret)
	for range 3 {
		if _, err := c.ReadSecret(ctxT(t), "token"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count("token"); n != 1 {
		t.Fatalf("%d token requests for 3 reads, want 1", n)
	}
	f.mu.Lock()
	f.throttle = 1
	f.mu.Unlock()
	_, err := c.ReadSecret(ctxT(t), "token")
	checkCode(t, err, resilience.RateLimited)
	if resilience.RetryAfterOf(err) != 3*time.Second {
		t.Fatalf("retry after %s, want 3s", resilience.RetryAfterOf(err))
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	f := startAzure(t)
	f.addClient(clientID, clientSecret)
	f.addClient("0f1e2d3c-aaaa-bbbb-cccc-000000000002", clientSecret, "canary")
	f.put("canary", "ok")
	down := startAzure(t)
	down.srv.Close()
	limited := map[string]any{"clientId": "0f1e2d3c-aaaa-bbbb-cccc-000000000002"}
	type setup = secretstest.Setup[*fakeAzure]
	secretstest.RunChecks(t, provider(f), []secretstest.CheckCase[*fakeAzure]{
		{Name: "connectivity", Level: contracts.CheckConnectivity},
		{Name: "connectivity down", Setup: setup{Fake: down}, Level: contracts.CheckConnectivity, Code: resilience.ConnectionRefused},
		{Name: "authentication", Level: contracts.CheckAuthentication},
		{Name: "authentication of a client that may not list", Setup: setup{Config: limited}, Level: contracts.CheckAuthentication},
		{Name: "authentication wrong secret", Setup: setup{Cred: "wrong"}, Level: contracts.CheckAuthentication, Code: resilience.AuthenticationFailed},
		{Name: "functionality lists", Level: contracts.CheckFunctionality},
		{Name: "functionality canary", Setup: setup{Config: map[string]any{"clientId": "0f1e2d3c-aaaa-bbbb-cccc-000000000002", "canarySecret": "canary"}},
			Level: contracts.CheckFunctionality},
		{Name: "functionality may not list", Setup: setup{Config: limited}, Level: contracts.CheckFunctionality, Code: resilience.PermissionDenied},
	})
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	base := map[string]any{"url": "https://v.vault.azure.net", "tenantId": fakeTenant, "clientId": clientID}
	secretstest.RunConfigRefused(t, ProviderID, func(in connectors.Instance) error {
		_, err := newConnector(in, func() bool { return false })
		return err
	}, map[string]secretstest.ConfigCase{
		"secret from a store":          {Config: base, Ref: "vault://vault-1/azure#secret"},
		"no ref":                       {Config: base, Ref: ""},
		"http vault":                   {Config: map[string]any{"url": "http://v.vault.azure.net", "tenantId": fakeTenant, "clientId": clientID}, Ref: "env://S"},
		"no tenant":                    {Config: map[string]any{"url": "https://v.vault.azure.net", "clientId": clientID}, Ref: "env://S"},
		"managed identity not allowed": {Config: map[string]any{"url": "https://v.vault.azure.net", "authMethod": "managedIdentity"}, Ref: ""},
	}, clientSecret, value)
}

// An authorityHost the outbound guard refuses is DESTINATION_BLOCKED (not
// retried, cause named), whether the check or a read asks for the token:
// the SDK's MSAL client flattens transport errors into text, so the code
// must come from the guard itself.
func TestAuthorityHostBlocked(t *testing.T) {
	t.Parallel()
	f := startAzure(t)
	f.addClient(clientID, clientSecret)
	f.put("token", value)
	port := f.srv.URL[strings.LastIndex(f.srv.URL, ":")+1:]
	vaultOnly := httpx.GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	tests := []struct {
		name, authority, want string
	}{
		{"cloud metadata", "https://169.254.169.254", "169.254.169.254"},
		{"other loopback address", "https://127.0.0.2:" + port, "127.0.0.2"},
		{"benchmarking address", "https://198.18.0.1", "198.18.0.1"},
	}
	for _, tc := range tests {
		for _, op := range []string{"authentication check", "read"} {
			t.Run(tc.name+" "+op, func(t *testing.T) {
				t.Parallel()
				c := newGuardedConnector(t, f, vaultOnly, map[string]any{"authorityHost": tc.authority}, clientSecret)
				secretstest.CheckBlocked(t, ProviderID, func(ctx context.Context) error {
					if op == "read" {
						_, err := c.ReadSecret(ctx, "token")
						return err
					}
					return c.CheckAuthentication(ctx)
				}, tc.want, clientSecret, value)
			})
		}
	}
	if n := f.count("token"); n != 0 {
		t.Errorf("the fake's token endpoint was reached %d times", n)
	}
}

// A vault url the outbound guard refuses is DESTINATION_BLOCKED through the
// SDK's pipeline, for every check and a read, and is not retried.
func TestVaultURLBlocked(t *testing.T) {
	t.Parallel()
	f := startAzure(t)
	f.addClient(clientID, clientSecret)
	fakeOnly := httpx.GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	ops := map[string]func(*Connector, context.Context) error{
		"connectivity":   (*Connector).CheckConnectivity,
		"authentication": (*Connector).CheckAuthentication,
		"functionality":  (*Connector).CheckFunctionality,
		"read": func(c *Connector, ctx context.Context) error {
			_, err := c.ReadSecret(ctx, "token")
			return err
		},
	}
	for _, host := range []string{"169.254.169.254", "192.0.2.10"} {
		for name, op := range ops {
			t.Run(host+" "+name, func(t *testing.T) {
				t.Parallel()
				c := newGuardedConnector(t, f, fakeOnly, map[string]any{"url": "https://" + host}, clientSecret)
				secretstest.CheckBlocked(t, ProviderID, func(ctx context.Context) error { return op(c, ctx) }, host, clientSecret, value)
			})
		}
	}
}
