package vault

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/secrets/vault/vaultfake"
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

	tests := []struct {
		name    string
		config  map[string]any
		env     map[string]string
		path    string
		want    map[string]string
		lease   time.Duration
		version string
		code    resilience.Code
		cause   error
	}{
		{name: "kv2", path: "docker/registry", version: "1",
			want: map[string]string{"username": "alice", "password": "s3cr3t-value", "port": "5000", "nested": `{"a":"b"}`}},
		{name: "kv1 with its lease", config: map[string]any{"mountPath": "kv1", "kvVersion": "1"}, path: "ci/gitlab",
			want: map[string]string{"token": "s3cr3t-value", "ttl": "90s"}, lease: 90 * time.Second},
		{name: "namespace", config: map[string]any{"namespace": "team-a"}, env: map[string]string{"VAULT_TOKEN": "ns-token"},
			path: "app/db", want: map[string]string{"password": "s3cr3t-value"}, version: "1"},
		{name: "root token not valid in a namespace", config: map[string]any{"namespace": "team-a"}, path: "app/db",
			code: resilience.AuthenticationFailed, cause: ErrTokenRefused},
		{name: "missing path", path: "docker/nope", code: resilience.ResourceNotFound, cause: ErrSecretNotFound},
		{name: "deleted latest version", path: "gone", code: resilience.ResourceNotFound, cause: ErrSecretNotFound},
		{name: "v1 read of a v2 mount", config: map[string]any{"kvVersion": "1"}, path: "docker/registry", code: resilience.InvalidConfig},
		{name: "policy denies", config: map[string]any{"namespace": "team-a"}, env: map[string]string{"VAULT_TOKEN": "ns-token"},
			path: "other/db", code: resilience.PermissionDenied, cause: ErrPermissionDenied},
		{name: "bad path", path: "../sys", code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := tc.env
			if env == nil {
				env = tokenEnv()
			}
			c := testConnector(t, fake, setup{config: tc.config, env: env})
			got, err := c.ReadSecretLease(ctxT(t), tc.path)
			checkErr(t, err, tc.code, tc.cause)
			if tc.code != "" {
				return
			}
			if !maps.Equal(got.Data, tc.want) || got.Lease != tc.lease || got.Version != tc.version {
				t.Fatalf("read %+v (lease %s, version %q), want %v (lease %s, version %q)", got.Data, got.Lease, got.Version, tc.want, tc.lease, tc.version)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(f *vaultfake.Server)
		config  map[string]any
		env     map[string]string
		level   string
		code    resilience.Code
		cause   error
	}{
		{name: "connectivity", level: "connectivity"},
		{name: "connectivity of a standby", prepare: func(f *vaultfake.Server) { f.SetStandby(true, false) }, level: "connectivity"},
		{name: "connectivity of a performance standby", prepare: func(f *vaultfake.Server) { f.SetStandby(true, true) }, level: "connectivity"},
		{name: "connectivity sealed", prepare: func(f *vaultfake.Server) { f.Seal(true) }, level: "connectivity",
			code: resilience.CredentialFetchFailed, cause: ErrSealed},
		{name: "connectivity uninitialized", prepare: func(f *vaultfake.Server) { f.SetInitialized(false) }, level: "connectivity",
			code: resilience.CredentialFetchFailed, cause: ErrNotInitialized},
		{name: "connectivity DR secondary", prepare: func(f *vaultfake.Server) { f.SetDRSecondary(true) }, level: "connectivity",
			code: resilience.CredentialFetchFailed, cause: ErrNotServing},
		{name: "connectivity down", prepare: func(f *vaultfake.Server) { f.Close() }, level: "connectivity", code: resilience.ConnectionRefused},
		{name: "authentication", level: "authentication"},
		{name: "authentication wrong token", env: map[string]string{"VAULT_TOKEN": "hvs.wrong"}, level: "authentication",
			code: resilience.AuthenticationFailed, cause: ErrTokenRefused},
		{name: "authentication unset token", env: map[string]string{}, config: map[string]any{}, level: "authentication",
			code: resilience.CredentialFetchFailed},
		{name: "authentication sealed", prepare: func(f *vaultfake.Server) { f.Seal(true) }, level: "authentication",
			code: resilience.CredentialFetchFailed, cause: ErrSealed},
		{name: "authentication throttled", prepare: func(f *vaultfake.Server) { f.Throttle(5, 2) }, level: "authentication",
			code: resilience.RateLimited},
		{name: "functionality with capabilities", level: "functionality"},
		{name: "functionality canary", config: map[string]any{"canaryPath": "inthub/canary"}, level: "functionality"},
		{name: "functionality missing canary", config: map[string]any{"canaryPath": "inthub/nope"}, level: "functionality",
			code: resilience.ResourceNotFound, cause: ErrSecretNotFound},
		{name: "functionality wrong kv version", config: map[string]any{"kvVersion": "1"}, level: "functionality", code: resilience.InvalidConfig},
		{name: "functionality unknown mount", config: map[string]any{"mountPath": "nope"}, level: "functionality",
			code: resilience.ResourceNotFound},
		{name: "functionality limited token", env: map[string]string{"VAULT_TOKEN": "limited"}, level: "functionality",
			code: resilience.ResourceNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := rootFake(t)
			fake.AddToken("", "limited", vaultfake.TokenOptions{Policies: []string{"other/"}})
			fake.Put("", "secret", "inthub/canary", map[string]any{"ok": "yes"})
			if tc.prepare != nil {
				tc.prepare(fake)
			}
			env := tc.env
			if env == nil {
				env = tokenEnv()
			}
			s := setup{config: tc.config, env: env}
			if _, ok := env["VAULT_TOKEN"]; !ok {
				s.ref = "env://VAULT_TOKEN"
			}
			c := testConnector(t, fake, s)
			var err error
			switch tc.level {
			case "connectivity":
				err = c.CheckConnectivity(ctxT(t))
			case "authentication":
				err = c.CheckAuthentication(ctxT(t))
			default:
				err = c.CheckFunctionality(ctxT(t))
			}
			checkErr(t, err, tc.code, tc.cause)
		})
	}
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
