package vault

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/vault/api"

	"github.com/stella-ops/inthub/shared/resilience"
)

// CheckConnectivity asks sys/health, which needs no token. A sealed or
// uninitialised Vault, or a DR secondary, answers but serves no secret:
// unhealthy, CREDENTIAL_FETCH_FAILED naming why. A standby forwards to the
// active node and is healthy.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	h, err := c.login.Sys().HealthWithContext(ctx)
	if err != nil {
		return c.classify(err, "read Vault's sys/health")
	}
	switch {
	case !h.Initialized:
		return &resilience.Error{Code: resilience.CredentialFetchFailed, Err: ErrNotInitialized,
			Message: "Vault is not initialized"}
	case h.Sealed:
		return &resilience.Error{Code: resilience.CredentialFetchFailed, Err: ErrSealed,
			Message: "Vault is sealed: it serves no secrets until it is unsealed"}
	case h.ReplicationDRMode == "secondary":
		return &resilience.Error{Code: resilience.CredentialFetchFailed, Err: ErrNotServing,
			Message: "this Vault node is a disaster-recovery secondary: it serves no secrets"}
	case h.RemovedFromCluster != nil && *h.RemovedFromCluster:
		return &resilience.Error{Code: resilience.CredentialFetchFailed, Err: ErrNotServing,
			Message: "this Vault node was removed from its cluster"}
	}
	return namespaceSupport(c.namespace, h.Enterprise)
}

// CheckAuthentication proves the credentials now: it logs in if needed and
// looks the token up (auth/token/lookup-self, allowed to every valid
// token). A token refused there is re-obtained once (a new login, or the
// reference read again) before the check fails.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	if err := c.authorize(ctx); err != nil {
		return err
	}
	s := &c.session
	s.mu.Lock()
	defer s.mu.Unlock()
	err := c.lookup(ctx)
	if resilience.CodeOf(err) != resilience.AuthenticationFailed {
		return err
	}
	if c.auth.method == AuthToken && s.expired() {
		return err
	}
	if oerr := c.obtain(ctx); oerr != nil {
		return oerr
	}
	if c.auth.method == AuthToken {
		return nil // obtain looked the token up
	}
	return c.lookup(ctx)
}

// CheckFunctionality checks that the mount is a KV engine of the configured
// version (which also proves the token may use something under it), then
// reads the canary secret (canaryPath) or, without one, asks whether the
// token may read the paths this store was recently asked to read. It never
// judges the mount's root: a least-privilege token allowed only
// secret/data/app/* has no capability there, yet serves every reference
// under app/.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	if err := c.checkMount(ctx); err != nil {
		return err
	}
	if c.canary != "" {
		_, err := c.read(ctx, c.canary)
		return err
	}
	for _, p := range c.recent.list() {
		if err := c.mayRead(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// mayRead asks sys/capabilities-self whether the token may read the secret
// at p (a path under the mount, as references name it).
func (c *Connector) mayRead(ctx context.Context, p string) error {
	full := c.mount + "/" + p
	if c.kv2 {
		full = c.mount + "/data/" + p
	}
	var caps []string
	err := c.call(ctx, "ask the token's capabilities on "+full, func(ctx context.Context) error {
		var err error
		caps, err = c.vc.Sys().CapabilitiesSelfWithContext(ctx, full)
		return err
	})
	if err != nil {
		return err
	}
	if !slices.Contains(caps, "read") && !slices.Contains(caps, "root") {
		return &resilience.Error{Code: resilience.PermissionDenied, Err: ErrPermissionDenied,
			Message: fmt.Sprintf("the Vault token may not read %s, which a credential reference names (capabilities %v)", full, caps)}
	}
	return nil
}

// checkMount reads sys/internal/ui/mounts/<mount> (what the Vault CLI asks
// to pick the KV version; any token may ask about mounts it can use).
func (c *Connector) checkMount(ctx context.Context) error {
	var info *api.Secret
	err := c.call(ctx, "read the mount "+c.mount, func(ctx context.Context) error {
		var err error
		info, err = c.vc.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+c.mount)
		return err
	})
	if err != nil {
		if resilience.CodeOf(err) == resilience.PermissionDenied {
			return &resilience.Error{Code: resilience.ResourceNotFound, Err: ErrSecretNotFound,
				Message: fmt.Sprintf("no secrets engine is mounted at %q, or the token may use nothing under it", c.mount)}
		}
		return err
	}
	if info == nil || info.Data == nil {
		return &resilience.Error{Code: resilience.ResourceNotFound, Err: ErrSecretNotFound,
			Message: fmt.Sprintf("no secrets engine is mounted at %q", c.mount)}
	}
	typ, _ := info.Data["type"].(string)
	version := "1"
	if opts, ok := info.Data["options"].(map[string]any); ok {
		if v, ok := opts["version"].(string); ok && v != "" {
			version = v
		}
	}
	want := "1"
	if c.kv2 {
		want = "2"
	}
	switch {
	case typ != "kv" && typ != "generic":
		return resilience.New(resilience.InvalidConfig, "the engine mounted at %q is %q, not a KV secrets engine", c.mount, typ)
	case version != want:
		return resilience.New(resilience.InvalidConfig, "the KV engine at %q is version %s but kvVersion is %s", c.mount, version, want)
	}
	return nil
}
