package gcpsm

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/secrets/secretstest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

const value = "LEAK-gcp-secret-value-3c9e"

// target builds the connector under test.
var target = secretstest.Target[*Connector]{Spec: Spec, ID: "gcp-1", Env: "GCP_KEY", New: secretstest.Typed[*Connector](New)}

func newTestConnector(t *testing.T, f *fakeGCP, config map[string]any, key string) *Connector {
	t.Helper()
	return newGuardedConnector(t, f, httpx.GuardPolicy{AllowPrivate: true}, config, key)
}

// newGuardedConnector is newTestConnector under the given outbound policy.
func newGuardedConnector(t *testing.T, f *fakeGCP, policy httpx.GuardPolicy, config map[string]any, key string) *Connector {
	t.Helper()
	return secretstest.Connect(t, target, map[string]any{"project": f.project, "url": f.srv.URL, "timeout": float64(5)}, config, policy, key)
}

// leaks are the values no error text may hold.
var leaks = []string{value, "PRIVATE KEY"}

// provider is the runners' view of this package's tests, on fake f with
// the working service-account key.
func provider(f *fakeGCP, key string) secretstest.Provider[*fakeGCP, *Connector] {
	return secretstest.Provider[*fakeGCP, *Connector]{
		Name: ProviderID, Fake: f, Cred: key, Secrets: leaks, ExactVersion: true,
		Connect: func(t *testing.T, s secretstest.Setup[*fakeGCP]) *Connector {
			return newTestConnector(t, s.Fake, s.Config, s.Cred)
		},
	}
}

func ctxT(t *testing.T) context.Context { return secretstest.Context(t) }

func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	secretstest.CheckErr(t, ProviderID, err, want, nil, leaks...)
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
	type setup = secretstest.Setup[*fakeGCP]
	secretstest.RunReads(t, provider(f, key), []secretstest.ReadCase[*fakeGCP]{
		{Name: "json secret, latest", Path: "registry", Want: map[string]string{"username": "alice", "password": value}, Version: "1"},
		{Name: "latest", Path: "token", Want: map[string]string{"value": value}, Version: "2"},
		{Name: "version number", Path: "token/versions/1", Want: map[string]string{"value": "old-" + value}, Version: "1"},
		{Name: "alias", Path: "token/prod", Want: map[string]string{"value": "old-" + value}, Version: "1"},
		{Name: "missing secret", Path: "nope", Code: resilience.ResourceNotFound},
		{Name: "missing version", Path: "token/versions/9", Code: resilience.ResourceNotFound},
		{Name: "disabled version", Path: "disabled/1", Code: resilience.ResourceNotFound},
		{Name: "permission denied", Setup: setup{Cred: limited}, Path: "token", Code: resilience.PermissionDenied},
		{Name: "wrong key", Setup: setup{Cred: otherKey, Config: map[string]any{"tokenUrl": f.srv.URL + "/token"}}, Path: "token", Code: resilience.AuthenticationFailed},
		{Name: "not a key", Setup: setup{Cred: `{"token":"x"}`}, Path: "token", Code: resilience.InvalidConfig},
		{Name: "bad path", Path: "a/b/c/d", Code: resilience.InvalidConfig},
		{Name: "other project", Setup: setup{Config: map[string]any{"project": "someone-else"}}, Path: "token", Code: resilience.PermissionDenied},
	})
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
	type setup = secretstest.Setup[*fakeGCP]
	secretstest.RunChecks(t, provider(f, key), []secretstest.CheckCase[*fakeGCP]{
		{Name: "connectivity", Level: contracts.CheckConnectivity},
		{Name: "connectivity down", Setup: setup{Fake: down}, Level: contracts.CheckConnectivity, Code: resilience.ConnectionRefused},
		{Name: "authentication", Level: contracts.CheckAuthentication},
		{Name: "authentication with a key of another account", Setup: setup{Cred: startGCP(t).addAccount(t, "x@y.iam.gserviceaccount.com"),
			Config: map[string]any{"tokenUrl": f.srv.URL + "/token"}}, Level: contracts.CheckAuthentication, Code: resilience.AuthenticationFailed},
		{Name: "functionality lists", Level: contracts.CheckFunctionality},
		{Name: "functionality canary", Setup: setup{Cred: limited, Config: map[string]any{"canarySecret": "canary"}}, Level: contracts.CheckFunctionality},
		{Name: "functionality may not list", Setup: setup{Cred: limited}, Level: contracts.CheckFunctionality, Code: resilience.PermissionDenied},
	})
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	secretstest.RunConfigRefused(t, ProviderID, func(in connectors.Instance) error {
		_, err := New(context.Background(), in)
		return err
	}, map[string]secretstest.ConfigCase{
		"key from a store": {Config: map[string]any{"project": "p-1"}, Ref: "vault://vault-1/gcp#key"},
		"no ref":           {Config: map[string]any{"project": "p-1"}, Ref: ""},
		"bad project":      {Config: map[string]any{"project": "../x"}, Ref: "env://K"},
		"bad canary":       {Config: map[string]any{"project": "p-1", "canarySecret": "a/b/c/d"}, Ref: "env://K"},
	}, leaks...)
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
			secretstest.CheckBlocked(t, ProviderID, c.CheckAuthentication, tc.want, leaks...)
			if n := f.count("token"); n != 0 {
				t.Errorf("the token endpoint was reached %d times", n)
			}
		})
	}
}
