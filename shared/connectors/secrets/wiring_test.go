package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault/vaultfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// Distinctive values: the leak checks look for each of them everywhere.
const (
	vaultToken       = "hvs.LEAK-vault-token-7f3a9"
	registryPassword = "LEAK-registry-password-c41d"
	appRoleSecretID  = "LEAK-approle-secret-id-92be"
	registryUser     = "alice"
	tenant           = "0193a0b4-0000-7000-8000-00000000000a"
	otherTenant      = "0193a0b4-0000-7000-8000-00000000000b"
	ttl              = time.Minute
)

var distinctive = []string{vaultToken, registryPassword, appRoleSecretID}

// hub is the part of a service that resolves credentials: a catalog, a
// connector pool, a resolver whose Stores read through the pool, and the
// captured logs and metrics.
type hub struct {
	fake    *vaultfake.Server
	reg     *testsvc.Registry
	clock   *testClock
	pool    *runtime.Pool
	stores  *credentials.Stores
	logs    *bytes.Buffer
	metrics *prometheus.Registry

	mu    sync.Mutex
	items map[string]contracts.Integration
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newHub wires what a service does (see the report for the services):
// resolver.Stores = &credentials.Stores{Lookup: catalog, Pool:
// secrets.Readers{Pool: pool}}, the pool built on that resolver.
func newHub(t *testing.T, reg *testsvc.Registry, env map[string]string) *hub {
	t.Helper()
	h := &hub{
		fake: vaultfake.Start(t), reg: reg, clock: &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		logs: &bytes.Buffer{}, metrics: prometheus.NewRegistry(), items: map[string]contracts.Integration{},
	}
	h.fake.AddToken(vaultfake.Root, vaultToken, vaultfake.TokenOptions{Policies: []string{"secret/data/docker/", "secret/data/inthub/"}})
	h.fake.Put(vaultfake.Root, "secret", "docker/registry", map[string]any{
		"credentials": map[string]any{"username": registryUser, "password": registryPassword}})
	h.fake.Put(vaultfake.Root, "secret", "inthub/canary", map[string]any{"ok": "yes"})
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	vaultSpec := *vault.Spec
	vaultSpec.New = vault.Factory(h.fake.Now)
	specs := connectors.NewRegistry(dockerregistry.Spec, &vaultSpec)
	// Each tenant's local names are env's keys behind its own prefix.
	policy, err := credentials.ParseLocalPolicy(tenant+"=WIRING,"+otherTenant+"=WIRINGB", "", "")
	if err != nil {
		t.Fatal(err)
	}
	resolver := &credentials.Resolver{Local: credentials.LocalResolver{Policy: policy, LookupEnv: func(k string) (string, bool) {
		for _, prefix := range []string{"INTHUB_SECRET_WIRING_", "INTHUB_SECRET_WIRINGB_"} {
			if name, ok := strings.CutPrefix(k, prefix); ok {
				v, ok := env[name]
				return v, ok
			}
		}
		return "", false
	}}}
	m, err := httpx.NewPrometheusMetrics(h.metrics)
	if err != nil {
		t.Fatal(err)
	}
	h.pool = runtime.NewPool(specs, resolver, httpx.GuardPolicy{AllowPrivate: true}, m)
	t.Cleanup(h.pool.Close)
	h.stores = &credentials.Stores{
		Lookup: func(_ context.Context, tenantID, store string) (contracts.Integration, bool) {
			h.mu.Lock()
			defer h.mu.Unlock()
			return credentials.FindStore(maps.Values(h.items), tenantID, store)
		},
		Pool:   secrets.Readers{Pool: h.pool},
		TTL:    ttl,
		Clock:  h.clock.Now,
		Retry:  resilience.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 2, Multiplier: 1},
		Logger: logger,
	}
	resolver.Stores = h.stores
	h.put(contracts.Integration{ID: "vault-1", TenantID: tenant, TypeID: vault.ProviderID, Name: "vault", CredentialRef: "env://INTHUB_SECRET_WIRING_VAULT_TOKEN",
		Config: map[string]any{"url": h.fake.URL, "mountPath": "secret", "canaryPath": "inthub/canary"}})
	h.put(contracts.Integration{ID: "registry-1", TenantID: tenant, TypeID: dockerregistry.ProviderID, Name: "registry",
		CredentialRef: "vault://vault-1/docker/registry#credentials", Config: map[string]any{"url": reg.URL}})
	t.Cleanup(func() { h.assertNoLeak(t) })
	return h
}

// put stores an integration as the manager would: a new revision.
func (h *hub) put(it contracts.Integration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	it.Revision = h.items[it.ID].Revision + 1
	h.items[it.ID] = it
}

func (h *hub) get(id string) contracts.Integration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.items[id]
}

// check runs one level of an integration's health check, as the
// health-scheduler's runner does, and returns the error and the status the
// scheduler would record (healthy, degraded on RATE_LIMITED, else
// unhealthy).
func (h *hub) check(t *testing.T, id string, level contracts.CheckType) (contracts.HealthStatus, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := h.pool.Get(ctx, h.get(id))
	if err == nil {
		c, _ := connectors.AsChecker(conn)
		switch level {
		case contracts.CheckConnectivity:
			err = c.CheckConnectivity(ctx)
		case contracts.CheckAuthentication:
			err = c.CheckAuthentication(ctx)
		default:
			err = c.CheckFunctionality(ctx)
		}
	}
	if err != nil {
		h.logs.WriteString(err.Error() + "\n") // what the scheduler would record and publish
	}
	switch {
	case err == nil:
		return contracts.HealthHealthy, nil
	case resilience.CodeOf(err) == resilience.RateLimited:
		return contracts.HealthDegraded, err
	}
	return contracts.HealthUnhealthy, err
}

func (h *hub) allPass(t *testing.T, id string) {
	t.Helper()
	for _, level := range contracts.CheckTypes {
		if status, err := h.check(t, id, level); err != nil {
			t.Fatalf("%s %s: %s %v", id, level, status, err)
		}
	}
}

// assertNoLeak scans the captured logs (error texts included) and the
// metrics exposition for every distinctive value.
func (h *hub) assertNoLeak(t *testing.T) {
	t.Helper()
	var exposition bytes.Buffer
	families, err := h.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&exposition, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, secret := range distinctive {
		if strings.Contains(h.logs.String(), secret) {
			t.Errorf("the logs hold a secret value")
		}
		if strings.Contains(exposition.String(), secret) {
			t.Errorf("the metrics hold a secret value")
		}
	}
}

func startRegistry(t *testing.T) *testsvc.Registry {
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{registryUser: registryPassword}})
	reg.Push(t, "team/app", "v1")
	return reg
}

// TestRegistryCredentialsFromVault: a docker-registry integration whose
// credentialRef points into Vault passes its three checks; a changed
// secret is used once the cached value's TTL has passed (not before); a
// deleted one gives RESOURCE_NOT_FOUND.
func TestRegistryCredentialsFromVault(t *testing.T) {
	t.Parallel()
	h := newHub(t, startRegistry(t), map[string]string{"VAULT_TOKEN": vaultToken})
	h.allPass(t, "vault-1")
	h.allPass(t, "registry-1")
	reads := h.fake.Calls("secret/data/docker/registry")

	// Within the TTL the value comes from memory.
	h.allPass(t, "registry-1")
	if n := h.fake.Calls("secret/data/docker/registry"); n != reads {
		t.Fatalf("%d Vault reads within the TTL, want none", n-reads)
	}

	// A changed secret: the cached (right) value serves until the refresh.
	h.fake.Put(vaultfake.Root, "secret", "docker/registry", map[string]any{
		"credentials": map[string]any{"username": registryUser, "password": "wrong-password"}})
	h.clock.Advance(ttl / 2)
	if _, err := h.check(t, "registry-1", contracts.CheckAuthentication); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	h.clock.Advance(ttl/2 + time.Second)
	if status, err := h.check(t, "registry-1", contracts.CheckAuthentication); resilience.CodeOf(err) != resilience.AuthenticationFailed || status != contracts.HealthUnhealthy {
		t.Fatalf("after the TTL the changed secret was not used: %v (%s)", err, status)
	}
	h.fake.Put(vaultfake.Root, "secret", "docker/registry", map[string]any{
		"credentials": map[string]any{"username": registryUser, "password": registryPassword}})
	h.clock.Advance(ttl + time.Second)
	h.allPass(t, "registry-1")

	// Deleted: RESOURCE_NOT_FOUND naming the path.
	h.fake.Delete(vaultfake.Root, "secret", "docker/registry")
	h.clock.Advance(ttl + time.Second)
	status, err := h.check(t, "registry-1", contracts.CheckAuthentication)
	if resilience.CodeOf(err) != resilience.ResourceNotFound || !strings.Contains(err.Error(), `"docker/registry"`) || status != contracts.HealthUnhealthy {
		t.Fatalf("deleted secret: %v (%s)", err, status)
	}
	t.Logf("deleted: %v", err)

	// A store integration updated (new revision) drops its cached values.
	h.fake.Put(vaultfake.Root, "secret", "docker/registry", map[string]any{
		"credentials": map[string]any{"username": registryUser, "password": registryPassword}})
	h.put(h.get("vault-1"))
	h.allPass(t, "registry-1")
}

// TestDistinctErrors: the failures the issue names, each with its code,
// cause, message and the health outcome of the registry and of the store.
func TestDistinctErrors(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	tests := []struct {
		name     string
		env      map[string]string
		prepare  func(t *testing.T, h *hub)
		code     resilience.Code
		cause    error
		phrase   string
		store    contracts.HealthStatus // the vault integration's worst level
		storeErr resilience.Code
	}{
		{name: "sealed Vault", prepare: func(_ *testing.T, h *hub) { h.fake.Seal(true) },
			code: resilience.CredentialFetchFailed, cause: vault.ErrSealed, phrase: "sealed",
			store: contracts.HealthUnhealthy, storeErr: resilience.CredentialFetchFailed},
		{name: "Vault unreachable", prepare: func(_ *testing.T, h *hub) { h.fake.Close() },
			code: resilience.CredentialFetchFailed, phrase: `secret store "vault-1" could not be read`,
			store: contracts.HealthUnhealthy, storeErr: resilience.ConnectionRefused},
		{name: "wrong AppRole secret", env: map[string]string{"SECRET_ID": "wrong-" + appRoleSecretID},
			prepare: func(_ *testing.T, h *hub) { h.useAppRole() },
			code:    resilience.AuthenticationFailed, cause: vault.ErrLoginRefused, phrase: "invalid role or secret ID",
			store: contracts.HealthUnhealthy, storeErr: resilience.AuthenticationFailed},
		{name: "expired token", env: map[string]string{"VAULT_TOKEN": "hvs.short-lived"},
			prepare: func(t *testing.T, h *hub) {
				h.fake.AddToken(vaultfake.Root, "hvs.short-lived", vaultfake.TokenOptions{Policies: []string{"secret/data/"}, TTL: time.Minute})
				h.allPass(t, "registry-1")
				h.fake.Advance(2 * time.Minute)
				h.clock.Advance(ttl + time.Second)
			},
			code: resilience.AuthenticationFailed, cause: vault.ErrTokenExpired, phrase: "expired",
			store: contracts.HealthUnhealthy, storeErr: resilience.AuthenticationFailed},
		{name: "missing key", prepare: func(_ *testing.T, h *hub) { h.setRef("vault://vault-1/docker/registry#nope") },
			code: resilience.ResourceNotFound, phrase: `has no key "nope"`, store: contracts.HealthHealthy},
		{name: "missing secret", prepare: func(_ *testing.T, h *hub) { h.setRef("vault://vault-1/docker/nope#credentials") },
			code: resilience.ResourceNotFound, cause: vault.ErrSecretNotFound, phrase: `"docker/nope"`, store: contracts.HealthHealthy},
		{name: "wrong credential type", prepare: func(_ *testing.T, h *hub) {
			h.fake.Put(vaultfake.Root, "secret", "docker/registry", map[string]any{"credentials": map[string]any{"apiKey": registryPassword}})
		}, code: resilience.InvalidConfig, phrase: "neither username and password", store: contracts.HealthHealthy},
		{name: "store of another tenant", prepare: func(_ *testing.T, h *hub) {
			it := h.get("vault-1")
			it.TenantID, it.CredentialRef = otherTenant, "env://INTHUB_SECRET_WIRINGB_VAULT_TOKEN"
			h.put(it)
		}, code: resilience.CredentialFetchFailed, phrase: "vault-1", store: contracts.HealthHealthy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"VAULT_TOKEN": vaultToken, "SECRET_ID": appRoleSecretID}
			maps.Copy(env, tc.env)
			h := newHub(t, reg, env)
			h.fake.AddAppRole(vaultfake.Root, "approle", "role-1", appRoleSecretID, vaultfake.TokenOptions{Policies: []string{"secret/data/"}, TTL: time.Hour})
			tc.prepare(t, h)
			status, err := h.check(t, "registry-1", contracts.CheckAuthentication)
			if resilience.CodeOf(err) != tc.code || status != contracts.HealthUnhealthy {
				t.Fatalf("registry: %v (%s), want %s", err, status, tc.code)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("registry error %v does not wrap %v", err, tc.cause)
			}
			if !strings.Contains(err.Error(), tc.phrase) {
				t.Fatalf("registry error %q does not say %q", err, tc.phrase)
			}
			worst, code := contracts.HealthHealthy, resilience.Code("")
			for _, level := range contracts.CheckTypes {
				if s, err := h.check(t, "vault-1", level); s != contracts.HealthHealthy && worst == contracts.HealthHealthy {
					worst, code = s, resilience.CodeOf(err)
				}
			}
			if worst != tc.store || code != tc.storeErr {
				t.Fatalf("vault health %s (%s), want %s (%s)", worst, code, tc.store, tc.storeErr)
			}
			t.Logf("registry: %v; vault: %s %s", err, worst, code)
		})
	}
}

func (h *hub) useAppRole() {
	it := h.get("vault-1")
	it.CredentialRef = ""
	it.Config = map[string]any{"url": h.fake.URL, "mountPath": "secret", "authMethod": "approle", "roleId": "role-1", "secretIdRef": "env://INTHUB_SECRET_WIRING_SECRET_ID"}
	h.put(it)
}

func (h *hub) setRef(ref string) {
	it := h.get("registry-1")
	it.CredentialRef = ref
	h.put(it)
}

// TestNoSecretLeaks runs a whole scenario — checks passing and failing,
// AppRole logins, a rotation, a sealed store — with distinctive values, and
// checks that no log line, error text or metric holds one (newHub's cleanup
// scans logs and metrics; every error text went into the logs).
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	h := newHub(t, reg, map[string]string{"VAULT_TOKEN": vaultToken, "SECRET_ID": appRoleSecretID})
	h.fake.AddAppRole(vaultfake.Root, "approle", "role-1", appRoleSecretID, vaultfake.TokenOptions{Policies: []string{"secret/data/"}, TTL: time.Hour, Renewable: true})
	var errs []error
	run := func() {
		for _, id := range []string{"vault-1", "registry-1"} {
			for _, level := range contracts.CheckTypes {
				if _, err := h.check(t, id, level); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	run()
	h.useAppRole()
	run()
	h.fake.Put(vaultfake.Root, "secret", "docker/registry", map[string]any{
		"credentials": map[string]any{"username": registryUser, "password": "x" + registryPassword}})
	h.clock.Advance(ttl + time.Second)
	h.fake.Advance(50 * time.Minute)
	run()
	h.fake.Seal(true)
	h.clock.Advance(ttl + time.Second)
	run()
	h.fake.Seal(false)
	h.setRef("vault://vault-1/docker/registry#password")
	run()
	if len(errs) < 4 {
		t.Fatalf("the scenario produced only %d failures: %v", len(errs), errs)
	}
	for _, err := range errs {
		for _, secret := range distinctive {
			if strings.Contains(err.Error(), secret) || strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret)) {
				t.Fatalf("an error holds a secret value")
			}
		}
	}
	codes := map[resilience.Code]bool{}
	for _, err := range errs {
		codes[resilience.CodeOf(err)] = true
	}
	t.Logf("%d failures, codes %v; Vault requests: %d", len(errs), slices.Sorted(maps.Keys(codes)), len(h.fake.Requests()))
}
