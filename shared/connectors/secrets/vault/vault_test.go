package vault

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/secrets/secretstest"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault/vaultfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestReadKV(t *testing.T) {
	t.Parallel()
	fake := rootFake(t)
	fake.Put("", "secret", "docker/registry", map[string]any{"username": "alice", "password": "s3cr3t-value", "port": 5000,
		"nested": map[string]any{"a": "b"}})
	fake.EnableKV("", "kv1", 1)
	fake.Put("", "kv1", "ci/gitlab", map[string]any{"token": "s3cr3t-value", "ttl": "90s"})
	fake.SetEnterprise(true) // namespaces are an Enterprise feature
	fake.EnableKV("team-a", "secret", 2)
	fake.AddToken("team-a", "ns-token", vaultfake.TokenOptions{Policies: []string{"secret/data/app/"}})
	fake.Put("team-a", "secret", "app/db", map[string]any{"password": "s3cr3t-value"})
	fake.Put("", "secret", "gone", map[string]any{"k": "v"})
	fake.Delete("", "secret", "gone")

	type setup = secretstest.Setup[*vaultfake.Server]
	p := provider(func(*testing.T) *vaultfake.Server { return fake })
	secretstest.RunReads(t, p, []secretstest.ReadCase[*vaultfake.Server]{
		{Name: "kv2", Path: "docker/registry", Version: "1",
			Want: map[string]string{"username": "alice", "password": "s3cr3t-value", "port": "5000", "nested": `{"a":"b"}`}},
		{Name: "kv1 with its lease", Setup: setup{Config: map[string]any{"mountPath": "kv1", "kvVersion": "1"}}, Path: "ci/gitlab",
			Want: map[string]string{"token": "s3cr3t-value", "ttl": "90s"}, Lease: 90 * time.Second},
		{Name: "namespace", Setup: setup{Config: map[string]any{"namespace": "team-a"}, Env: map[string]string{"VAULT_TOKEN": "ns-token"}},
			Path: "app/db", Want: map[string]string{"password": "s3cr3t-value"}, Version: "1"},
		{Name: "root token not valid in a namespace", Setup: setup{Config: map[string]any{"namespace": "team-a"}}, Path: "app/db",
			Code: resilience.AuthenticationFailed, Cause: ErrTokenRefused},
		{Name: "missing path", Path: "docker/nope", Code: resilience.ResourceNotFound, Cause: ErrSecretNotFound},
		{Name: "deleted latest version", Path: "gone", Code: resilience.ResourceNotFound, Cause: ErrSecretNotFound},
		{Name: "v1 read of a v2 mount", Setup: setup{Config: map[string]any{"kvVersion": "1"}}, Path: "docker/registry", Code: resilience.InvalidConfig},
		{Name: "policy denies", Setup: setup{Config: map[string]any{"namespace": "team-a"}, Env: map[string]string{"VAULT_TOKEN": "ns-token"}},
			Path: "other/db", Code: resilience.PermissionDenied, Cause: ErrPermissionDenied},
		{Name: "bad path", Path: "../sys", Code: resilience.InvalidConfig},
	})
}

func TestChecks(t *testing.T) {
	t.Parallel()
	type setup = secretstest.Setup[*vaultfake.Server]
	prep := func(f func(*vaultfake.Server)) setup { return setup{Prepare: f} }
	// Each case has a fake of its own: a root token, a limited one and a
	// canary.
	p := provider(func(t *testing.T) *vaultfake.Server {
		fake := rootFake(t)
		fake.AddToken("", "limited", vaultfake.TokenOptions{Policies: []string{"other/"}})
		fake.Put("", "secret", "inthub/canary", map[string]any{"ok": "yes"})
		return fake
	})
	const (
		connectivity   = contracts.CheckConnectivity
		authentication = contracts.CheckAuthentication
		functionality  = contracts.CheckFunctionality
	)
	secretstest.RunChecks(t, p, []secretstest.CheckCase[*vaultfake.Server]{
		{Name: "connectivity", Level: connectivity},
		{Name: "connectivity of a standby", Setup: prep(func(f *vaultfake.Server) { f.SetStandby(true, false) }), Level: connectivity},
		{Name: "connectivity of a performance standby", Setup: prep(func(f *vaultfake.Server) { f.SetStandby(true, true) }), Level: connectivity},
		{Name: "connectivity sealed", Setup: prep(func(f *vaultfake.Server) { f.Seal(true) }), Level: connectivity,
			Code: resilience.CredentialFetchFailed, Cause: ErrSealed},
		{Name: "connectivity uninitialized", Setup: prep(func(f *vaultfake.Server) { f.SetInitialized(false) }), Level: connectivity,
			Code: resilience.CredentialFetchFailed, Cause: ErrNotInitialized},
		{Name: "connectivity DR secondary", Setup: prep(func(f *vaultfake.Server) { f.SetDRSecondary(true) }), Level: connectivity,
			Code: resilience.CredentialFetchFailed, Cause: ErrNotServing},
		{Name: "connectivity down", Setup: prep(func(f *vaultfake.Server) { f.Close() }), Level: connectivity, Code: resilience.ConnectionRefused},
		{Name: "authentication", Level: authentication},
		{Name: "authentication wrong token", Setup: setup{Env: map[string]string{"VAULT_TOKEN": "hvs.wrong"}}, Level: authentication,
			Code: resilience.AuthenticationFailed, Cause: ErrTokenRefused},
		{Name: "authentication unset token", Setup: setup{Env: map[string]string{}, Config: map[string]any{}}, Level: authentication,
			Code: resilience.CredentialFetchFailed},
		{Name: "authentication sealed", Setup: prep(func(f *vaultfake.Server) { f.Seal(true) }), Level: authentication,
			Code: resilience.CredentialFetchFailed, Cause: ErrSealed},
		{Name: "authentication throttled", Setup: prep(func(f *vaultfake.Server) { f.Throttle(5, 2) }), Level: authentication,
			Code: resilience.RateLimited},
		{Name: "functionality with capabilities", Level: functionality},
		{Name: "functionality canary", Setup: setup{Config: map[string]any{"canaryPath": "inthub/canary"}}, Level: functionality},
		{Name: "functionality missing canary", Setup: setup{Config: map[string]any{"canaryPath": "inthub/nope"}}, Level: functionality,
			Code: resilience.ResourceNotFound, Cause: ErrSecretNotFound},
		{Name: "functionality wrong kv version", Setup: setup{Config: map[string]any{"kvVersion": "1"}}, Level: functionality, Code: resilience.InvalidConfig},
		{Name: "functionality unknown mount", Setup: setup{Config: map[string]any{"mountPath": "nope"}}, Level: functionality,
			Code: resilience.ResourceNotFound},
		{Name: "functionality limited token", Setup: setup{Env: map[string]string{"VAULT_TOKEN": "limited"}}, Level: functionality,
			Code: resilience.ResourceNotFound},
	})
}

// TestAppRoleRenewAndRelogin: an AppRole token is renewed in the last third
// of its TTL until its max TTL, then replaced by a new login; a token
// revoked behind the connector's back is replaced on the 403.
func TestAppRoleRenewAndRelogin(t *testing.T) {
	t.Parallel()
	fake := rootFake(t)
	fake.Put("", "secret", "app/db", map[string]any{"password": "s3cr3t-value"})
	fake.AddAppRole("", "approle", "role-1", appSecret, vaultfake.TokenOptions{
		Policies: []string{"secret/data/app/"}, TTL: time.Hour, MaxTTL: 3 * time.Hour, Renewable: true})
	c := testConnector(t, fake, setup{
		config: map[string]any{"authMethod": "approle", "roleId": "role-1", "secretIdRef": "env://SECRET_ID"},
		env:    map[string]string{"SECRET_ID": appSecret},
	})
	read := func() {
		t.Helper()
		if _, err := c.ReadSecret(ctxT(t), "app/db"); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	read()
	if n := fake.Calls("auth/approle/login"); n != 1 {
		t.Fatalf("%d logins, want 1", n)
	}
	read() // token fresh: no renewal
	if n := fake.Calls("auth/token/renew-self"); n != 0 {
		t.Fatalf("%d renewals of a fresh token", n)
	}
	for i := range 4 {
		fake.Advance(45 * time.Minute) // into the last third each time
		read()
		t.Logf("after %d×45m: logins %d, renewals %d", i+1, fake.Calls("auth/approle/login"), fake.Calls("auth/token/renew-self"))
	}
	if fake.Calls("auth/token/renew-self") < 2 {
		t.Fatalf("the token was renewed %d times, want at least 2", fake.Calls("auth/token/renew-self"))
	}
	if fake.Calls("auth/approle/login") < 2 {
		t.Fatalf("no new login after the max TTL: %d logins", fake.Calls("auth/approle/login"))
	}
	// Expired without the connector noticing (clock jump): the 403 leads to
	// a new login and the read succeeds.
	logins := fake.Calls("auth/approle/login")
	fake.Advance(10 * time.Hour)
	read()
	if fake.Calls("auth/approle/login") != logins+1 {
		t.Fatalf("no re-login after expiry")
	}
}

func TestKubernetesLogin(t *testing.T) {
	t.Parallel()
	fake := rootFake(t)
	fake.Put("", "secret", "app/db", map[string]any{"password": "s3cr3t-value"})
	fake.AddKubernetesRole("", "kubernetes", "inthub", k8sJWT, vaultfake.TokenOptions{Policies: []string{"secret/data/app/"}, TTL: time.Hour})
	files := map[string]string{DefaultKubernetesTokenPath: k8sJWT + "\n"}
	tests := []struct {
		name  string
		role  string
		files map[string]string
		code  resilience.Code
		cause error
	}{
		{name: "login", role: "inthub", files: files},
		{name: "unknown role", role: "other", files: files, code: resilience.AuthenticationFailed, cause: ErrLoginRefused},
		{name: "wrong jwt", role: "inthub", files: map[string]string{DefaultKubernetesTokenPath: "eyJ-other"},
			code: resilience.AuthenticationFailed, cause: ErrLoginRefused},
		{name: "no token file", role: "inthub", code: resilience.CredentialFetchFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testConnector(t, fake, setup{config: map[string]any{"authMethod": "kubernetes", "kubernetesRole": tc.role}, files: tc.files})
			_, err := c.ReadSecret(ctxT(t), "app/db")
			checkErr(t, err, tc.code, tc.cause)
		})
	}
}

// TestDistinctErrors: each failure the issue names is its own code, cause
// and sentence.
func TestDistinctErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   setup
		prepare func(f *vaultfake.Server)
		code    resilience.Code
		cause   error
		phrase  string
	}{
		{name: "sealed", setup: setup{env: tokenEnv()}, prepare: func(f *vaultfake.Server) { f.Seal(true) },
			code: resilience.CredentialFetchFailed, cause: ErrSealed, phrase: "sealed"},
		{name: "wrong AppRole secret", setup: setup{config: map[string]any{"authMethod": "approle", "roleId": "role-1", "secretIdRef": "env://SECRET_ID"},
			env: map[string]string{"SECRET_ID": "wrong-" + appSecret}},
			code: resilience.AuthenticationFailed, cause: ErrLoginRefused, phrase: "invalid role or secret ID"},
		{name: "expired token", setup: setup{env: map[string]string{"VAULT_TOKEN": "short"}},
			prepare: func(f *vaultfake.Server) {
				f.AddToken("", "short", vaultfake.TokenOptions{Policies: []string{"root"}, TTL: time.Minute})
			},
			code: resilience.AuthenticationFailed, cause: ErrTokenExpired, phrase: "expired"},
		{name: "missing secret", setup: setup{env: tokenEnv()}, prepare: func(f *vaultfake.Server) { f.DeleteAll("", "secret", "app/db") },
			code: resilience.ResourceNotFound, cause: ErrSecretNotFound, phrase: `"app/db"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := rootFake(t)
			fake.Put("", "secret", "app/db", map[string]any{"password": "s3cr3t-value"})
			fake.AddAppRole("", "approle", "role-1", appSecret, vaultfake.TokenOptions{Policies: []string{"root"}, TTL: time.Hour})
			c := testConnector(t, fake, tc.setup)
			if tc.name == "expired token" {
				fake.AddToken("", "short", vaultfake.TokenOptions{Policies: []string{"root"}, TTL: time.Minute})
				if _, err := c.ReadSecret(ctxT(t), "app/db"); err != nil {
					t.Fatalf("first read: %v", err)
				}
				fake.Advance(2 * time.Minute)
			} else if tc.prepare != nil {
				tc.prepare(fake)
			}
			_, err := c.ReadSecret(ctxT(t), "app/db")
			checkErr(t, err, tc.code, tc.cause)
			if !containsFold(err.Error(), tc.phrase) {
				t.Fatalf("error %q does not say %q", err, tc.phrase)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	fake := rootFake(t)
	tests := []struct {
		name   string
		config map[string]any
		ref    string
	}{
		{"token from a store", nil, "vault://other-vault/hub/token#token"},
		{"secret id from a store", map[string]any{"authMethod": "approle", "roleId": "r", "secretIdRef": "authref://vault/approle#secret"}, ""},
		{"approle without role", map[string]any{"authMethod": "approle", "secretIdRef": "env://X"}, ""},
		{"token without ref", nil, ""},
		{"kubernetes token elsewhere", map[string]any{"authMethod": "kubernetes", "kubernetesRole": "r", "kubernetesTokenPath": "/etc/shadow"}, ""},
		{"bad mount", map[string]any{"mountPath": "a/../b"}, "env://T"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]any{"url": fake.URL, "mountPath": "secret"}
			maps.Copy(cfg, tc.config)
			_, err := newConnector(instance(t, cfg, tc.ref), options{now: time.Now, allowAmbient: func() bool { return true }})
			checkErr(t, err, resilience.InvalidConfig, nil)
			t.Log(err)
		})
	}
	t.Run("kubernetes without the operator's consent", func(t *testing.T) {
		cfg := map[string]any{"url": fake.URL, "mountPath": "secret", "authMethod": "kubernetes", "kubernetesRole": "r"}
		_, err := newConnector(instance(t, cfg, ""), options{now: time.Now, allowAmbient: func() bool { return false }})
		checkErr(t, err, resilience.InvalidConfig, nil)
	})
}

// TestFakeLikeRealVault pins what real Vault 1.21 and OpenBao 2.6 answer
// where an earlier fake was kinder, and what the connector makes of it.
func TestFakeLikeRealVault(t *testing.T) {
	t.Parallel()
	fake := rootFake(t)
	fake.Put("", "secret", "app/db", map[string]any{"password": "s3cr3t-value"})
	fake.Put("", "secret", "other/db", map[string]any{"password": "s3cr3t-value"})
	fake.AddToken("", "least", vaultfake.TokenOptions{Policies: []string{"secret/data/app/"}})
	fake.AddAppRole("", "approle", "role-1", appSecret, vaultfake.TokenOptions{Policies: []string{"root"}, TTL: time.Hour})
	least := map[string]string{"VAULT_TOKEN": "least"}

	t.Run("least-privilege token is healthy without canaryPath", func(t *testing.T) {
		t.Parallel()
		c := testConnector(t, fake, setup{env: least})
		if _, err := c.ReadSecret(ctxT(t), "app/db"); err != nil {
			t.Fatalf("read: %v", err)
		}
		checkErr(t, c.CheckFunctionality(ctxT(t)), "", nil)
	})
	t.Run("a referenced path the policy denies makes functionality fail", func(t *testing.T) {
		t.Parallel()
		c := testConnector(t, fake, setup{env: least})
		_, err := c.ReadSecret(ctxT(t), "other/db")
		checkErr(t, err, resilience.PermissionDenied, ErrPermissionDenied)
		err = c.CheckFunctionality(ctxT(t))
		checkErr(t, err, resilience.PermissionDenied, ErrPermissionDenied)
		if !strings.Contains(err.Error(), "secret/data/other/db") {
			t.Fatalf("error %q does not name the denied path", err)
		}
	})
	t.Run("AppRole login at a mount that does not exist is 403 and names authMountPath", func(t *testing.T) {
		t.Parallel()
		c := testConnector(t, fake, setup{config: map[string]any{"authMethod": "approle", "authMountPath": "no-such-approle",
			"roleId": "role-1", "secretIdRef": "env://SECRET_ID"}, env: map[string]string{"SECRET_ID": appSecret}})
		_, err := c.ReadSecret(ctxT(t), "app/db")
		checkErr(t, err, resilience.AuthenticationFailed, ErrLoginRefused)
		if !strings.Contains(err.Error(), "authMountPath") || !strings.Contains(err.Error(), "HTTP 403") {
			t.Fatalf("error %q does not point at authMountPath", err)
		}
	})
	t.Run("a namespace on a server without namespaces is refused", func(t *testing.T) {
		t.Parallel()
		c := testConnector(t, fake, setup{config: map[string]any{"namespace": "team-a"}, env: tokenEnv()})
		_, err := c.ReadSecret(ctxT(t), "app/db")
		checkErr(t, err, resilience.InvalidConfig, ErrNamespaceUnsupported)
		checkErr(t, c.CheckConnectivity(ctxT(t)), resilience.InvalidConfig, ErrNamespaceUnsupported)
	})
}
