package oci

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	// challengeLifetime is how long the registry's answer to GET /v2/ (the
	// auth scheme, realm and service) is trusted before it is asked again:
	// it changes only when the registry is reconfigured.
	challengeLifetime = 5 * time.Minute
	// defaultTokenLifetime is the token spec's expires_in when a token
	// service gives none.
	defaultTokenLifetime = 60 * time.Second
	// maxCachedTokens bounds the cache: one token per scope (per
	// repository for tags) and credential.
	maxCachedTokens = 1024
)

// authCache keeps what the registry handed out: its challenge, and the
// authorizing transports of go-containerregistry holding a bearer token,
// each until its token's expires_in. Tokens are keyed by scope and an HMAC
// of the credential, so rotated credentials never reuse the old ones'
// tokens and no digest of a password is kept in the clear. Without it every
// call would ping /v2/ and fetch a token anew (transport.NewWithContext):
// two extra requests per page of tags, each counting against the tenant's
// quota.
type authCache struct {
	mu               sync.Mutex
	hmacKey          []byte
	challenge        *transport.Challenge
	challengeExpires time.Time
	tokens           map[string]cachedTransport
}

type cachedTransport struct {
	rt      http.RoundTripper
	expires time.Time
}

func (c *authCache) init() error {
	c.hmacKey = make([]byte, 32)
	if _, err := rand.Read(c.hmacKey); err != nil {
		return resilience.Wrap(resilience.UpstreamError, err, "token cache key")
	}
	c.tokens = map[string]cachedTransport{}
	return nil
}

func (c *authCache) key(auth Auth, scopes []string) string {
	m := hmac.New(sha256.New, c.hmacKey)
	for _, part := range []string{auth.Username, auth.Password, auth.Token} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return strings.Join(scopes, " ") + "\x00" + hex.EncodeToString(m.Sum(nil))
}

func (c *authCache) get(key string, now time.Time) http.RoundTripper {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tokens[key]
	if !ok || !now.Before(e.expires) {
		return nil
	}
	return e.rt
}

func (c *authCache) put(key string, rt http.RoundTripper, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tokens) >= maxCachedTokens {
		for k, e := range c.tokens {
			if !now.Before(e.expires) {
				delete(c.tokens, k)
			}
		}
		for k := range c.tokens { // still full of live tokens: any will do
			if len(c.tokens) < maxCachedTokens {
				break
			}
			delete(c.tokens, k)
		}
	}
	c.tokens[key] = cachedTransport{rt: rt, expires: expires}
}

// challenge returns the registry's auth challenge: the cached one, or
// (fresh, or none cached) a new GET /v2/ without credentials. A 200 is a
// registry without auth (scheme ""), a 401 names Basic or Bearer with its
// realm; anything else is the call's error.
func (r *Registry) challenge(ctx context.Context, fresh bool) (*transport.Challenge, error) {
	now := r.now()
	r.auth.mu.Lock()
	ch := r.auth.challenge
	if fresh || !now.Before(r.auth.challengeExpires) {
		ch = nil
	}
	r.auth.mu.Unlock()
	if ch != nil {
		return ch, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.reg.Scheme()+"://"+r.reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "reach the registry")
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, Classify("reach the registry", err)
	}
	defer kit.Drain(resp)
	ch = &transport.Challenge{Insecure: r.reg.Scheme() == "http", Parameters: map[string]string{}}
	switch {
	case resp.StatusCode < 300:
	case resp.StatusCode == http.StatusUnauthorized:
		ch.Scheme = "basic"
		if b, ok := kit.BearerChallenge(resp.Header); ok {
			ch.Scheme, ch.Parameters = "bearer", b.Params
		}
	default:
		return nil, httpx.CheckResponse(resp, r.now())
	}
	r.auth.mu.Lock()
	r.auth.challenge, r.auth.challengeExpires = ch, now.Add(challengeLifetime)
	r.auth.mu.Unlock()
	return ch, nil
}

// transport returns go-containerregistry's authorizing transport for
// scopes over the guarded one. On a Bearer registry it holds a token from
// the challenge's realm (transport.Exchange), cached for its expires_in
// unless fresh; go-containerregistry's bearer transport itself fetches a
// new one when the registry refuses it. A static token is used as it is;
// Basic and anonymous registries need no exchange. Being a
// transport.Wrapper, it also tells remote not to add retries of its own:
// retries are the hub's strategy.
func (r *Registry) transport(ctx context.Context, auth Auth, fresh bool, scopes ...string) (http.RoundTripper, error) {
	ch, err := r.challenge(ctx, false)
	if err != nil {
		return nil, err
	}
	authn := auth.authenticator()
	if ch.Scheme != "bearer" || auth.Token != "" {
		rt, err := transport.FromToken(r.reg, authn, r.base, ch, &transport.Token{Token: auth.Token})
		if err != nil {
			return nil, Classify("authenticate to the registry", err)
		}
		return rt, nil
	}
	key := r.auth.key(auth, scopes)
	if !fresh {
		if rt := r.auth.get(key, r.now()); rt != nil {
			return rt, nil
		}
	}
	tok, err := transport.Exchange(ctx, r.reg, authn, r.base, scopes, ch)
	if err != nil {
		return nil, Classify("authenticate to the registry", err)
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken // some token services answer access_token only
	}
	rt, err := transport.FromToken(r.reg, authn, r.base, ch, tok)
	if err != nil {
		return nil, Classify("authenticate to the registry", err)
	}
	lifetime := time.Duration(tok.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = defaultTokenLifetime
	}
	now := r.now()
	r.auth.put(key, rt, now.Add(lifetime), now)
	return rt, nil
}

// CacheToken puts a registry token for a repository's pull scope and
// credential into the cache, as if the token service had issued it (tests
// prove that a token the registry refuses is replaced).
func (r *Registry) CacheToken(ctx context.Context, auth Auth, repo, token string, lifetime time.Duration) error {
	ref, err := r.Repository(repo)
	if err != nil {
		return err
	}
	ch, err := r.challenge(ctx, false)
	if err != nil {
		return err
	}
	scopes := []string{ref.Scope(transport.PullScope)}
	rt, err := transport.FromToken(r.reg, auth.authenticator(), r.base, ch, &transport.Token{Token: token})
	if err != nil {
		return Classify("authenticate to the registry", err)
	}
	now := r.now()
	r.auth.put(r.auth.key(auth, scopes), rt, now.Add(lifetime), now)
	return nil
}

// insufficientScope reports a 401 whose Bearer challenge says
// error="insufficient_scope" to a caller with credentials: they are valid
// but may not do this (a catalog many registries keep for admins), which is
// PERMISSION_DENIED, not AUTHENTICATION_FAILED. Anonymous callers keep the
// 401: they need to log in.
func insufficientScope(resp *http.Response, auth Auth, what string) error {
	if resp.StatusCode != http.StatusUnauthorized || (auth.Username == "" && auth.Token == "") {
		return nil
	}
	ch, ok := kit.BearerChallenge(resp.Header)
	if !ok || ch.Params["error"] != "insufficient_scope" {
		return nil
	}
	return resilience.New(resilience.PermissionDenied, "%s: the credentials are valid but lack the registry scope %q", what, ch.Params["scope"])
}
