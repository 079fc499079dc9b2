package gcpsm

import (
	"context"
	"encoding/json"
	"maps"
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

const value = "LEAK-gcp-secret-value-3c9e"

func newTestConnector(t *testing.T, f *fakeGCP, config map[string]any, key string) *Connector {
	t.Helper()
	return newGuardedConnector(t, f, httpx.GuardPolicy{AllowPrivate: true}, config, key)
}

// newGuardedConnector is newTestConnector under the given outbound policy.
func newGuardedConnector(t *testing.T, f *fakeGCP, policy httpx.GuardPolicy, config map[string]any, key string) *Connector {
	t.Helper()
	cfg := map[string]any{"project": f.project, "url": f.srv.URL, "timeout": float64(5)}
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
	if key != "" {
		env["GCP_KEY"] = key
	}
	conn, err := New(context.Background(), connectors.Instance{
		Integration: contracts.Integration{ID: "gcp-1", TenantID: "t", TypeID: ProviderID, Config: cfg, CredentialRef: "env://GCP_KEY"},
		Credentials: testsvc.EnvCredentials(env), HTTP: hc,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn.(*Connector)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func checkCode(t *testing.T, err error, want resilience.Code, secrets ...string) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("error %v has code %q, want %q", err, got, want)
	}
	for _, s := range append(secrets, value, "PRIVATE KEY") {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Fatalf("error text holds a secret: %v", err)
		}
	}
}

func TestReadSecret(t *testing.T) {
	t.Parallel()
	f := startGCP(t)
	key := f.addAccount(t, "hub@hub-project.iam.gserviceaccount.com")
	limited := f.addAccount(t, "limited@hub-project.iam.gserviceaccount.com", "allowed")
	otherKey := startGCP(t).addAccount(t, "hub@hub-project.iam.gserviceaccount.com") // same email, another key
	f.put("registry", `{"username":"alice","password":"`+value+`"}`)
	f.put("token", "old-"+value)
	f.put("token", value)
	f.secrets["token"].aliases["prod"] = 1
	f.put("disabled", value)
	f.secrets["disabled"].versions[0].disabled = true
	tests := []struct {
		name    string
		key     string
		config  map[string]any
		path    string
		want    map[string]string
		version string
		code    resilience.Code
	}{
		{name: "json secret, latest", path: "registry", want: map[string]string{"username": "alice", "password": value}, version: "1"},
		{name: "latest", path: "token", want: map[string]string{"value": value}, version: "2"},
		{name: "version number", path: "token/versions/1", want: map[string]string{"value": "old-" + value}, version: "1"},
		{name: "alias", path: "token/prod", want: map[string]string{"value": "old-" + value}, version: "1"},
		{name: "missing secret", path: "nope", code: resilience.ResourceNotFound},
		{name: "missing version", path: "token/versions/9", code: resilience.ResourceNotFound},
		{name: "disabled version", path: "disabled/1", code: resilience.ResourceNotFound},
		{name: "permission denied", key: limited, path: "token", code: resilience.PermissionDenied},
		{name: "wrong key", key: otherKey, config: map[string]any{"tokenUrl": f.srv.URL + "/token"}, path: "token", code: resilience.AuthenticationFailed},
		{name: "not a key", key: `{"token":"x"}`, path: "token", code: resilience.InvalidConfig},
		{name: "bad path", path: "a/b/c/d", code: resilience.InvalidConfig},
		{name: "other project", config: map[string]any{"project": "someone-else"}, path: "token", code: resilience.PermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := tc.key
			if k == "" {
				k = key
			}
			c := newTestConnector(t, f, tc.config, k)
			got, err := c.ReadSecretLease(ctxT(t), tc.path)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				t.Log(err)
				return
			}
			if !maps.Equal(got.Data, tc.want) || got.Version != tc.version {
				t.Fatalf("read %v (version %s), want %v (%s)", got.Data, got.Version, tc.want, tc.version)
			}
		})
	}
}

func TestTokenReusedAndThrottle(t *testing.T) {
	t.Parallel()
	f := startGCP(t)
	c := newTestConnector(t, f, nil, f.addAccount(t, "hub@hub-project.iam.gserviceaccount.com"))
	f.put("token", value)
	for range 3 {
		if _, err := c.ReadSecret(ctxT(t), "token"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count("token"); n != 1 {
		t.Fatalf("%d token exchanges for 3 reads, want 1", n)
	}
	f.mu.Lock()
	f.throttle = 1
	f.mu.Unlock()
	_, err := c.ReadSecret(ctxT(t), "token")
	checkCode(t, err, resilience.RateLimited)
	// A revoked token: the 401 leads to one new exchange.
	f.mu.Lock()
	f.issuer.Revoke()
	f.mu.Unlock()
	if _, err := c.ReadSecret(ctxT(t), "token"); err != nil || f.count("token") != 2 {
		t.Fatalf("after revocation: %v, %d exchanges", err, f.count("token"))
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	f := startGCP(t)
	key := f.addAccount(t, "hub@hub-project.iam.gserviceaccount.com")
	limited := f.addAccount(t, "limited@hub-project.iam.gserviceaccount.com", "canary")
	f.put("canary", "ok")
	down := startGCP(t)
	down.srv.Close()
	tests := []struct {
		name   string
		fake   *fakeGCP
		key    string
		config map[string]any
		level  contracts.CheckType
		code   resilience.Code
	}{
		{name: "connectivity", level: contracts.CheckConnectivity},
		{name: "connectivity down", fake: down, level: contracts.CheckConnectivity, code: resilience.ConnectionRefused},
		{name: "authentication", level: contracts.CheckAuthentication},
		{name: "authentication with a key of another account", key: startGCP(t).addAccount(t, "x@y.iam.gserviceaccount.com"),
			config: map[string]any{"tokenUrl": f.srv.URL + "/token"}, level: contracts.CheckAuthentication, code: resilience.AuthenticationFailed},
		{name: "functionality lists", level: contracts.CheckFunctionality},
		{name: "functionality canary", key: limited, config: map[string]any{"canarySecret": "canary"}, level: contracts.CheckFunctionality},
		{name: "functionality may not list", key: limited, level: contracts.CheckFunctionality, code: resilience.PermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, k := tc.fake, tc.key
			if fake == nil {
				fake = f
			}
			if k == "" {
				k = key
			}
			c := newTestConnector(t, fake, tc.config, k)
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
		})
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg map[string]any
		ref string
	}{
		"key from a store": {map[string]any{"project": "p-1"}, "vault://vault-1/gcp#key"},
		"no ref":           {map[string]any{"project": "p-1"}, ""},
		"bad project":      {map[string]any{"project": "../x"}, "env://K"},
		"bad canary":       {map[string]any{"project": "p-1", "canarySecret": "a/b/c/d"}, "env://K"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.cfg, CredentialRef: tc.ref}, HTTP: connectortest.HTTP(t, nil, nil)})
			checkCode(t, err, resilience.InvalidConfig)
		})
	}
}

// withTokenURI is a key file's JSON with its token_uri replaced.
func withTokenURI(t *testing.T, key, uri string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(key), &m); err != nil {
		t.Fatal(err)
	}
	m["token_uri"] = uri
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A token endpoint the outbound guard refuses, from the config's tokenUrl or
// the key's token_uri, is DESTINATION_BLOCKED (not retried, cause named):
// x/oauth2 flattens the transport's error into text, so the code must come
// from the guard itself, not from the message.
func TestTokenEndpointBlocked(t *testing.T) {
	t.Parallel()
	f := startGCP(t)
	key := f.addAccount(t, "hub@hub-project.iam.gserviceaccount.com")
	port := f.srv.URL[strings.LastIndex(f.srv.URL, ":")+1:]
	deny := httpx.GuardPolicy{}
	tests := []struct {
		name   string
		config map[string]any
		key    string
		want   string // in the message
	}{
		{name: "tokenUrl at cloud metadata", config: map[string]any{"tokenUrl": "http://169.254.169.254/token"},
			want: "169.254.169.254"},
		{name: "tokenUrl naming loopback", config: map[string]any{"tokenUrl": "http://localhost:" + port + "/token"},
			want: "localhost:" + port},
		{name: "tokenUrl at a benchmarking address", config: map[string]any{"tokenUrl": "http://198.18.0.1/token"},
			want: "198.18.0.1"},
		{name: "key token_uri at loopback", key: withTokenURI(t, key, f.srv.URL+"/token"), want: "127.0.0.1"},
		{name: "key token_uri naming loopback", key: withTokenURI(t, key, "http://localhost:"+port+"/token"),
			want: "localhost:" + port},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := tc.key
			if k == "" {
				k = key
			}
			c := newGuardedConnector(t, f, deny, tc.config, k)
			calls := 0
			err := resilience.Do(ctxT(t), fastRetry, func(ctx context.Context) error {
				calls++
				return c.CheckAuthentication(ctx)
			})
			checkCode(t, err, resilience.DestinationBlocked)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "outbound policy") {
				t.Errorf("error %q does not name %s and the outbound policy", err, tc.want)
			}
			if calls != 1 {
				t.Errorf("tried %d times, want 1 (a blocked destination is not retried)", calls)
			}
			if n := f.count("token"); n != 0 {
				t.Errorf("the token endpoint was reached %d times", n)
			}
		})
	}
}

// fastRetry retries as the hub does, without the waits.
var fastRetry = resilience.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 3, Multiplier: 1}
