package azurekv

import (
	"context"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const (
	clientID     = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
	clientSecret = "LEAK-azure-client-secret-4b2a"
	value        = "LEAK-azure-stored-value-91cd"
)

func newTestConnector(t *testing.T, f *fakeAzure, config map[string]any, secret string) *Connector {
	t.Helper()
	return newGuardedConnector(t, f, httpx.GuardPolicy{AllowPrivate: true}, config, secret)
}

// newGuardedConnector is newTestConnector under the given outbound policy.
func newGuardedConnector(t *testing.T, f *fakeAzure, policy httpx.GuardPolicy, config map[string]any, secret string) *Connector {
	t.Helper()
	cfg := map[string]any{"url": f.srv.URL, "authorityHost": f.srv.URL, "tenantId": fakeTenant, "clientId": clientID,
		"caCert": f.caPEM(), "skipChallengeResourceVerification": true, "timeout": float64(5)}
	maps.Copy(cfg, config)
	if err := Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(Spec, cfg), policy, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	env := map[string]string{}
	if secret != "" {
		env["AZURE_SECRET"] = secret
	}
	c, err := newConnector(connectors.Instance{
		Integration: contracts.Integration{ID: "akv-1", TenantID: "t", TypeID: ProviderID, Config: cfg, CredentialRef: "env://AZURE_SECRET"},
		Credentials: testsvc.EnvCredentials(env), HTTP: hc,
	}, func() bool { return false })
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("error %v has code %q, want %q", err, got, want)
	}
	if err != nil && (strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), value)) {
		t.Fatalf("error text holds a secret: %v", err)
	}
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
	tests := []struct {
		name    string
		config  map[string]any
		secret  string
		path    string
		want    map[string]string
		version string
		code    resilience.Code
	}{
		{name: "json secret", path: "registry", want: map[string]string{"username": "alice", "password": value}},
		{name: "current version", path: "token", want: map[string]string{"value": value}, version: cur},
		{name: "given version", path: "token/" + old, want: map[string]string{"value": "old-" + value}, version: old},
		{name: "missing", path: "nope", code: resilience.ResourceNotFound},
		{name: "missing version", path: "token/00000000000000000000000000000000", code: resilience.ResourceNotFound},
		{name: "disabled", path: "disabled", code: resilience.ResourceNotFound},
		{name: "access policy denies", config: map[string]any{"clientId": "0f1e2d3c-aaaa-bbbb-cccc-000000000002"}, path: "token",
			code: resilience.PermissionDenied},
		{name: "wrong client secret", secret: "wrong", path: "token", code: resilience.AuthenticationFailed},
		{name: "unknown client", config: map[string]any{"clientId": "0f1e2d3c-aaaa-bbbb-cccc-00000000000f"}, path: "token",
			code: resilience.AuthenticationFailed},
		{name: "secret unset", secret: "-", path: "token", code: resilience.CredentialFetchFailed},
		{name: "bad path", path: "a/b/c", code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret := tc.secret
			switch secret {
			case "":
				secret = clientSecret
			case "-":
				secret = ""
			}
			c := newTestConnector(t, f, tc.config, secret)
			got, err := c.ReadSecretLease(ctxT(t), tc.path)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			if !maps.Equal(got.Data, tc.want) || (tc.version != "" && got.Version != tc.version) {
				t.Fatalf("read %v (version %s), want %v (%s)", got.Data, got.Version, tc.want, tc.version)
			}
		})
	}
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
	tests := []struct {
		name   string
		fake   *fakeAzure
		config map[string]any
		secret string
		level  contracts.CheckType
		code   resilience.Code
	}{
		{name: "connectivity", level: contracts.CheckConnectivity},
		{name: "connectivity down", fake: down, level: contracts.CheckConnectivity, code: resilience.ConnectionRefused},
		{name: "authentication", level: contracts.CheckAuthentication},
		{name: "authentication of a client that may not list", config: limited, level: contracts.CheckAuthentication},
		{name: "authentication wrong secret", secret: "wrong", level: contracts.CheckAuthentication, code: resilience.AuthenticationFailed},
		{name: "functionality lists", level: contracts.CheckFunctionality},
		{name: "functionality canary", config: map[string]any{"clientId": "0f1e2d3c-aaaa-bbbb-cccc-000000000002", "canarySecret": "canary"},
			level: contracts.CheckFunctionality},
		{name: "functionality may not list", config: limited, level: contracts.CheckFunctionality, code: resilience.PermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, secret := tc.fake, tc.secret
			if fake == nil {
				fake = f
			}
			if secret == "" {
				secret = clientSecret
			}
			c := newTestConnector(t, fake, tc.config, secret)
			var err error
			switch tc.level {
			case contracts.CheckConnectivity:
				err = c.CheckConnectivity(ctxT(t))
			case contracts.CheckAuthentication:
				err = c.CheckAuthentication(ctxT(t))
			default:
				err = c.CheckFunctionality(ctxT(t))
			}
			checkCode(t, err, tc.code)
			if err != nil {
			}
		})
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	base := map[string]any{"url": "https://v.vault.azure.net", "tenantId": fakeTenant, "clientId": clientID}
	for name, tc := range map[string]struct {
		cfg map[string]any
		ref string
	}{
		"secret from a store":          {base, "vault://vault-1/azure#secret"},
		"no ref":                       {base, ""},
		"http vault":                   {map[string]any{"url": "http://v.vault.azure.net", "tenantId": fakeTenant, "clientId": clientID}, "env://S"},
		"no tenant":                    {map[string]any{"url": "https://v.vault.azure.net", "clientId": clientID}, "env://S"},
		"managed identity not allowed": {map[string]any{"url": "https://v.vault.azure.net", "authMethod": "managedIdentity"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newConnector(connectors.Instance{Integration: contracts.Integration{Config: tc.cfg, CredentialRef: tc.ref}, HTTP: connectortest.HTTP(t, nil, nil)}, func() bool { return false })
			checkCode(t, err, resilience.InvalidConfig)
		})
	}
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
				calls := 0
				err := resilience.Do(ctxT(t), fastRetry, func(ctx context.Context) error {
					calls++
					if op == "read" {
						_, err := c.ReadSecret(ctx, "token")
						return err
					}
					return c.CheckAuthentication(ctx)
				})
				checkCode(t, err, resilience.DestinationBlocked)
				if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "outbound policy") {
					t.Errorf("error %q does not name %s and the outbound policy", err, tc.want)
				}
				if calls != 1 {
					t.Errorf("tried %d times, want 1 (a blocked destination is not retried)", calls)
				}
			})
		}
	}
	if n := f.count("token"); n != 0 {
		t.Errorf("the fake's token endpoint was reached %d times", n)
	}
}

// fastRetry retries as the hub does, without the waits.
var fastRetry = resilience.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 3, Multiplier: 1}

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
				calls := 0
				err := resilience.Do(ctxT(t), fastRetry, func(ctx context.Context) error {
					calls++
					return op(c, ctx)
				})
				checkCode(t, err, resilience.DestinationBlocked)
				if !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "outbound policy") {
					t.Errorf("error %q does not name %s and the outbound policy", err, host)
				}
				if calls != 1 {
					t.Errorf("tried %d times, want 1 (a blocked destination is not retried)", calls)
				}
			})
		}
	}
}
