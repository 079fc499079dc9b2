package vault

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/secrets/secretstest"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault/vaultfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// Distinctive values: no error text may ever hold one.
const (
	rootToken = "hvs.ROOT-tok3n-never-in-a-message"
	appSecret = "app-s3cret-id-never-in-a-message"
	k8sJWT    = "eyJ-k8s-jwt-never-in-a-message"
)

// setup is one test connector.
type setup struct {
	config map[string]any // beyond url and mountPath
	env    map[string]string
	ref    string // credentialRef; "" = env://VAULT_TOKEN when env has it
	files  map[string]string
	policy *httpx.GuardPolicy // nil: every address allowed
}

func testConnector(t *testing.T, fake *vaultfake.Server, s setup) *Connector {
	t.Helper()
	cfg := map[string]any{"url": fake.URL, "mountPath": "secret", "timeout": float64(5)}
	maps.Copy(cfg, s.config)
	if err := Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	policy := httpx.GuardPolicy{AllowPrivate: true}
	if s.policy != nil {
		policy = *s.policy
	}
	hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(Spec, cfg), policy, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	ref := s.ref
	if _, ok := s.env["VAULT_TOKEN"]; ok && ref == "" {
		ref = "env://VAULT_TOKEN"
	}
	in := connectors.Instance{
		Integration: contracts.Integration{ID: "vault-1", TenantID: "tenant-1", TypeID: ProviderID, Config: cfg, CredentialRef: ref},
		Credentials: testsvc.EnvCredentials(s.env),
		HTTP:        hc,
	}
	c, err := newConnector(in, options{
		now: fake.Now,
		readFile: func(p string) ([]byte, error) {
			if v, ok := s.files[p]; ok {
				return []byte(v), nil
			}
			return nil, errors.New("no such file")
		},
		allowAmbient: func() bool { return true },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// leaks are the values no error text may hold.
var leaks = []string{rootToken, appSecret, k8sJWT, "s3cr3t-value"}

// checkErr fails unless err has code want ("" = no error) and, when given,
// wraps cause; no error text may hold a secret.
func checkErr(t *testing.T, err error, want resilience.Code, cause error) {
	t.Helper()
	secretstest.CheckErr(t, ProviderID, err, want, cause, leaks...)
}

func ctxT(t *testing.T) context.Context { return secretstest.Context(t) }

// provider is the runners' view of this package's tests: each case's
// connector talks to the fake fakeFor gives (or the case's own), with the
// root token unless the case names its environment.
func provider(fakeFor func(*testing.T) *vaultfake.Server) secretstest.Provider[*vaultfake.Server, *Connector] {
	return secretstest.Provider[*vaultfake.Server, *Connector]{
		Name: ProviderID, Secrets: leaks, ExactVersion: true,
		Connect: func(t *testing.T, s secretstest.Setup[*vaultfake.Server]) *Connector {
			fake := s.Fake
			if fake == nil {
				fake = fakeFor(t)
			}
			if s.Prepare != nil {
				s.Prepare(fake)
			}
			env := s.Env
			if env == nil {
				env = tokenEnv()
			}
			su := setup{config: s.Config, env: env}
			if _, ok := env["VAULT_TOKEN"]; !ok {
				su.ref = "env://VAULT_TOKEN"
			}
			return testConnector(t, fake, su)
		},
	}
}

// rootFake is a fake whose root token reads everything.
func rootFake(t *testing.T) *vaultfake.Server {
	fake := vaultfake.Start(t)
	fake.AddToken(vaultfake.Root, rootToken, vaultfake.TokenOptions{Policies: []string{"root"}})
	return fake
}

func tokenEnv() map[string]string { return map[string]string{"VAULT_TOKEN": rootToken} }

func instance(t *testing.T, cfg map[string]any, ref string) connectors.Instance {
	return connectors.Instance{Integration: contracts.Integration{ID: "v", TenantID: "t", TypeID: ProviderID, Config: cfg, CredentialRef: ref},
		HTTP: connectortest.HTTP(t, nil, nil)}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
