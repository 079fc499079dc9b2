package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/resilience"
)

// session is the token the connector holds and what Vault said about it.
type session struct {
	now func() time.Time

	mu        sync.Mutex
	token     string
	expires   time.Time // zero: no expiry known (root tokens, or not looked up)
	ttl       time.Duration
	renewable bool
	// accepted is true once Vault answered a request made with the token.
	accepted bool
}

func (s *session) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.expires, s.ttl, s.renewable, s.accepted = "", time.Time{}, 0, false, false
}

// renewDue reports whether the token is in the last third of its TTL.
// Called locked.
func (s *session) renewDue() bool {
	return !s.expires.IsZero() && !s.now().Before(s.expires.Add(-s.ttl/3))
}

// expired reports whether the token's TTL has ended. Called locked.
func (s *session) expired() bool { return !s.expires.IsZero() && !s.now().Before(s.expires) }

// set records a token and its lifetime. Called locked.
func (s *session) set(token string, ttl time.Duration, renewable bool) {
	s.token, s.ttl, s.renewable, s.accepted = token, ttl, renewable, false
	s.expires = time.Time{}
	if ttl > 0 {
		s.expires = s.now().Add(ttl)
	}
}

// authorize makes sure the client holds a token that is not known to be
// expired: it logs in when there is none, renews one in the last third of
// its TTL, and logs in again when renewal is refused or the token expired.
func (c *Connector) authorize(ctx context.Context) error {
	if err := c.ensureNamespaces(ctx); err != nil {
		return err
	}
	s := &c.session
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		return c.obtain(ctx)
	}
	if !s.renewDue() {
		return nil
	}
	if s.renewable && !s.expired() {
		if err := c.renew(ctx); err == nil {
			return nil
		}
	}
	if c.auth.method == AuthToken {
		// A static token cannot be replaced by logging in; the call will
		// tell whether it still works, and expiredErr names the cause.
		return nil
	}
	return c.obtain(ctx)
}

// obtain gets a token: the configured one, or a new login. Called locked.
func (c *Connector) obtain(ctx context.Context) error {
	s := &c.session
	switch c.auth.method {
	case AuthToken:
		secret, err := secrets.ResolveOwn(ctx, c.credentials, "credentialRef", c.credentialRef)
		if err != nil {
			return err
		}
		token, err := secret.Token()
		if err != nil {
			return resilience.Wrap(resilience.InvalidConfig, err, "the Vault token reference")
		}
		if err := validToken(token); err != nil {
			return err
		}
		s.set(token, 0, false)
		c.vc.SetToken(token)
		// Learn the token's TTL, so that it is renewed in time and its
		// expiry is named as such.
		return c.lookup(ctx)
	case AuthAppRole:
		secret, err := secrets.ResolveOwn(ctx, c.credentials, "secretIdRef", c.auth.secretIDRef)
		if err != nil {
			return err
		}
		secretID := secret.First("secretId", "secret_id", "secret-id", "value")
		if secretID == "" {
			return resilience.New(resilience.InvalidConfig, "the AppRole secret ID reference holds no secretId (or value)")
		}
		return c.loginWith(ctx, map[string]any{"role_id": c.auth.roleID, "secret_id": secretID})
	case AuthKubernetes:
		jwt, err := c.opts.readFile(c.auth.k8sToken)
		if err != nil {
			return resilience.New(resilience.CredentialFetchFailed, "the Kubernetes service-account token %s cannot be read", c.auth.k8sToken)
		}
		return c.loginWith(ctx, map[string]any{"role": c.auth.k8sRole, "jwt": strings.TrimSpace(string(jwt))})
	}
	return resilience.New(resilience.InvalidConfig, "unknown authMethod")
}

// validToken refuses what cannot be sent as a header value.
func validToken(t string) error {
	for _, r := range t {
		if r < 0x21 || r > 0x7e {
			return resilience.New(resilience.InvalidConfig, "the Vault token holds characters a token cannot have")
		}
	}
	return nil
}

// loginWith logs in at auth/<mount>/login. Called locked.
func (c *Connector) loginWith(ctx context.Context, body map[string]any) error {
	s := &c.session
	s.set("", 0, false)
	c.vc.ClearToken()
	secret, err := c.login.Logical().WriteWithContext(ctx, "auth/"+c.auth.mount+"/login", body)
	if err != nil {
		return c.loginError(err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return resilience.New(resilience.UpstreamError, "Vault answered the %s login without a token", c.auth.method)
	}
	s.set(secret.Auth.ClientToken, time.Duration(secret.Auth.LeaseDuration)*time.Second, secret.Auth.Renewable)
	s.accepted = true
	c.vc.SetToken(secret.Auth.ClientToken)
	return nil
}

// loginError names a refused login. Vault answers a wrong AppRole secret
// ID with 400 "invalid role or secret ID", an unknown Kubernetes role with
// 400, and both a refused service-account token and a login at a mount
// where no auth method is enabled with 403 "permission denied" — so a 403
// names the mount as a possible cause too.
func (c *Connector) loginError(err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) && (re.StatusCode == 400 || re.StatusCode == 403) {
		what := "role ID or secret ID"
		if c.auth.method == AuthKubernetes {
			what = "Kubernetes role or service-account token"
		}
		if re.StatusCode == 403 {
			what = fmt.Sprintf("authMountPath (is the %s auth method enabled at auth/%s?) and the %s", c.auth.method, c.auth.mount, what)
		}
		return &resilience.Error{Code: resilience.AuthenticationFailed, Err: ErrLoginRefused,
			Message: fmt.Sprintf("Vault refused the %s login at auth/%s (HTTP %d: %s): check the %s",
				c.auth.method, c.auth.mount, re.StatusCode, vaultMessage(re), what)}
	}
	return c.classify(err, "log in with %s at auth/%s", c.auth.method, c.auth.mount)
}

// renew extends the token's TTL by its original TTL. Called locked.
func (c *Connector) renew(ctx context.Context) error {
	s := &c.session
	increment := int(s.ttl / time.Second)
	secret, err := c.vc.Auth().Token().RenewSelfWithContext(ctx, increment)
	if err != nil {
		return c.classify(err, "renew the Vault token")
	}
	if secret == nil || secret.Auth == nil {
		return resilience.New(resilience.UpstreamError, "Vault answered the token renewal without auth data")
	}
	granted := time.Duration(secret.Auth.LeaseDuration) * time.Second
	if granted <= 0 {
		return resilience.New(resilience.UpstreamError, "Vault renewed the token for no time")
	}
	// A renewal capped by the token's max TTL grants less than asked: keep
	// the original TTL as the yardstick, so that the next renewal or login
	// comes in the last third of what is left.
	s.expires, s.renewable, s.accepted = s.now().Add(granted), secret.Auth.Renewable, true
	if granted < s.ttl {
		s.ttl = granted
	}
	return nil
}

// lookup asks Vault about the token (auth/token/lookup-self) and records
// its TTL. Called locked.
func (c *Connector) lookup(ctx context.Context) error {
	s := &c.session
	secret, err := c.vc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return c.tokenError(err, "look up the Vault token")
	}
	if secret == nil || secret.Data == nil {
		return resilience.New(resilience.UpstreamError, "Vault answered the token lookup without data")
	}
	s.accepted = true
	ttl := number(secret.Data["ttl"])
	renewable, _ := secret.Data["renewable"].(bool)
	s.renewable = renewable
	if ttl > 0 {
		s.ttl = time.Duration(ttl) * time.Second
		if creation := number(secret.Data["creation_ttl"]); creation > ttl {
			s.ttl = time.Duration(creation) * time.Second
		}
		s.expires = s.now().Add(time.Duration(ttl) * time.Second)
	} else {
		s.expires = time.Time{}
	}
	return nil
}

// tokenError classifies a failure of a request made with the token: a 403
// is the token's fault here (lookup-self is allowed to every valid token).
// Called locked.
func (c *Connector) tokenError(err error, op string) error {
	var re *api.ResponseError
	if errors.As(err, &re) && re.StatusCode == 403 {
		return c.refusedToken()
	}
	return c.classify(err, "%s", op)
}

// refusedToken names why Vault refused the token: expired (its TTL as last
// known has ended) or otherwise refused (wrong, revoked). Called locked.
func (c *Connector) refusedToken() error {
	s := &c.session
	if s.expired() {
		return &resilience.Error{Code: resilience.AuthenticationFailed, Err: ErrTokenExpired,
			Message: fmt.Sprintf("the Vault token expired at %s and could not be renewed", s.expires.UTC().Format(time.RFC3339))}
	}
	return &resilience.Error{Code: resilience.AuthenticationFailed, Err: ErrTokenRefused,
		Message: "Vault refused the token (permission denied on auth/token/lookup-self): it is wrong, revoked or expired"}
}

// call runs op with a valid token. A 403 may be the token (expired,
// revoked) or a policy. For a login method the connector logs in anew and
// tries once more; for a static token it re-reads the reference (the token
// may have been rotated) and tries once more if it changed. A token Vault
// still accepts on lookup-self but that gets 403 on op lacks a policy
// (PERMISSION_DENIED); one it refuses is an authentication failure, named
// "expired" when its TTL has run out.
func (c *Connector) call(ctx context.Context, what string, op func(ctx context.Context) error) error {
	if err := c.authorize(ctx); err != nil {
		return err
	}
	err := op(ctx)
	if !isForbidden(err) {
		return c.classify(err, "%s", what)
	}
	s := &c.session
	s.mu.Lock()
	retry, err := c.recover(ctx)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if retry {
		if err = op(ctx); !isForbidden(err) {
			return c.classify(err, "%s", what)
		}
	}
	return &resilience.Error{Code: resilience.PermissionDenied,
		Message: fmt.Sprintf("%s: the Vault token's policies do not allow it", what), Err: ErrPermissionDenied}
}

// recover reacts to a 403: it returns retry when a new token is in place, an
// error when the token is the cause, and neither when the token is valid
// (the 403 is a policy's). Called locked.
func (c *Connector) recover(ctx context.Context) (retry bool, err error) {
	s := &c.session
	if c.auth.method != AuthToken {
		return true, c.obtain(ctx)
	}
	expired, old := s.expired(), s.token
	secret, err := secrets.ResolveOwn(ctx, c.credentials, "credentialRef", c.credentialRef)
	if err != nil {
		return false, err
	}
	if token, terr := secret.Token(); terr == nil && token != old {
		return true, c.obtain(ctx)
	}
	if expired {
		return false, c.refusedToken()
	}
	return false, c.lookup(ctx)
}

// isForbidden reports a 403 answer.
func isForbidden(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == 403
}

// number reads a JSON number the client decoded as json.Number.
func number(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, _ := n.Float64()
			return int64(f)
		}
		return i
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}
