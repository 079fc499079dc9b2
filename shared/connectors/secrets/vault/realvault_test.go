package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestRealVault runs the fake's scenarios against a real Vault, for example
// a dev server:
//
//	vault server -dev -dev-root-token-id=root &
//	VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root go test -run TestRealVault ./connectors/secrets/vault/
//
// It needs a root (or sufficiently privileged) token: it mounts a KV v1 and
// a KV v2 engine and an AppRole auth method under random paths, and removes
// them when done.
func TestRealVault(t *testing.T) {
	addr, token := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("set VAULT_ADDR and VAULT_TOKEN (e.g. a `vault server -dev` at http://127.0.0.1:8200 with its root token) to run against a real Vault")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	admin.SetToken(token)
	suffix := randomHex(4)
	kv1, kv2, approle := "inthub-kv1-"+suffix, "inthub-kv2-"+suffix, "inthub-approle-"+suffix
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.Sys().MountWithContext(ctx, kv1, &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}))
	must(admin.Sys().MountWithContext(ctx, kv2, &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}))
	must(admin.Sys().EnableAuthWithOptionsWithContext(ctx, approle, &api.EnableAuthOptions{Type: "approle"}))
	t.Cleanup(func() {
		ctx := context.Background()
		_ = admin.Sys().UnmountWithContext(ctx, kv1)
		_ = admin.Sys().UnmountWithContext(ctx, kv2)
		_ = admin.Sys().DisableAuthWithContext(ctx, approle)
		_ = admin.Sys().DeletePolicyWithContext(ctx, "inthub-"+suffix)
	})
	// A KV v2 mount is usable a moment after it is mounted.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := admin.KVv2(kv2).Put(ctx, "docker/registry", map[string]any{"username": "alice", "password": "s3cr3t-value"})
		if err == nil || time.Now().After(deadline) {
			must(err)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	must(admin.KVv1(kv1).Put(ctx, "ci/gitlab", map[string]any{"token": "s3cr3t-value"}))
	must(admin.Sys().PutPolicyWithContext(ctx, "inthub-"+suffix, `path "`+kv2+`/data/docker/*" { capabilities = ["read"] }`))
	_, err = admin.Logical().WriteWithContext(ctx, "auth/"+approle+"/role/hub", map[string]any{"token_policies": "inthub-" + suffix, "token_ttl": "1h"})
	must(err)
	roleID, err := admin.Logical().ReadWithContext(ctx, "auth/"+approle+"/role/hub/role-id")
	must(err)
	secretID, err := admin.Logical().WriteWithContext(ctx, "auth/"+approle+"/role/hub/secret-id", nil)
	must(err)

	approleCfg := map[string]any{"mountPath": kv2, "authMethod": "approle", "authMountPath": approle,
		"roleId": roleID.Data["role_id"], "secretIdRef": "env://SECRET_ID"}
	tests := []struct {
		name   string
		config map[string]any
		env    map[string]string
		path   string
		code   resilience.Code
		cause  error
	}{
		{name: "kv2 with token", config: map[string]any{"mountPath": kv2}, env: map[string]string{"VAULT_TOKEN": token}, path: "docker/registry"},
		{name: "kv1 with token", config: map[string]any{"mountPath": kv1, "kvVersion": "1"}, env: map[string]string{"VAULT_TOKEN": token}, path: "ci/gitlab"},
		{name: "missing path", config: map[string]any{"mountPath": kv2}, env: map[string]string{"VAULT_TOKEN": token}, path: "docker/nope",
			code: resilience.ResourceNotFound, cause: ErrSecretNotFound},
		{name: "wrong token", config: map[string]any{"mountPath": kv2}, env: map[string]string{"VAULT_TOKEN": "hvs.wrong"}, path: "docker/registry",
			code: resilience.AuthenticationFailed, cause: ErrTokenRefused},
		{name: "approle", config: approleCfg, env: map[string]string{"SECRET_ID": secretID.Data["secret_id"].(string)}, path: "docker/registry"},
		{name: "approle wrong secret", config: approleCfg, env: map[string]string{"SECRET_ID": "wrong"}, path: "docker/registry",
			code: resilience.AuthenticationFailed, cause: ErrLoginRefused},
		{name: "approle at a mount that does not exist", config: map[string]any{"mountPath": kv2, "authMethod": "approle",
			"authMountPath": "no-such-" + approle, "roleId": roleID.Data["role_id"], "secretIdRef": "env://SECRET_ID"},
			env: map[string]string{"SECRET_ID": secretID.Data["secret_id"].(string)}, path: "docker/registry",
			code: resilience.AuthenticationFailed, cause: ErrLoginRefused},
		{name: "approle policy denies", config: approleCfg, env: map[string]string{"SECRET_ID": secretID.Data["secret_id"].(string)}, path: "other/x",
			code: resilience.PermissionDenied, cause: ErrPermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]any{"url": addr, "timeout": float64(10)}
			maps.Copy(cfg, tc.config)
			if err := Spec.ValidateConfig(cfg); err != nil {
				t.Fatal(err)
			}
			hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(Spec, cfg), httpx.GuardPolicy{AllowPrivate: true}, nil))
			if err != nil {
				t.Fatal(err)
			}
			ref := ""
			if _, ok := tc.env["VAULT_TOKEN"]; ok {
				ref = "env://VAULT_TOKEN"
			}
			conn, err := New(ctx, connectors.Instance{
				Integration: contracts.Integration{ID: "vault-real", TenantID: "t", TypeID: ProviderID, Config: cfg, CredentialRef: ref},
				Credentials: testsvc.EnvCredentials(tc.env), HTTP: hc,
			})
			if err != nil {
				t.Fatal(err)
			}
			c := conn.(*Connector)
			defer c.Close()
			_, err = c.ReadSecret(ctx, tc.path)
			checkErr(t, err, tc.code, tc.cause)
			if tc.code == "" {
				checkErr(t, c.CheckConnectivity(ctx), "", nil)
				checkErr(t, c.CheckAuthentication(ctx), "", nil)
				// A least-privilege token (AppRole: docker/* only) is
				// healthy: only the paths read are judged.
				checkErr(t, c.CheckFunctionality(ctx), "", nil)
			}
		})
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
