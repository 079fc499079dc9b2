package dockerregistry

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// defaultTokenLifetime is the token spec's expires_in when a token service
// gives none.
const defaultTokenLifetime = 60 * time.Second

// credential is what one call resolved from the credential reference:
// basic (user and password) or a static bearer token. It lives for the call.
type credential struct {
	user, password string
	token          string
}

// authorization is the Authorization header of a first attempt: a cached
// registry token, else the static token, else Basic, else nothing.
func (c credential) authorization(cachedToken string) kit.Auth {
	switch {
	case cachedToken != "":
		return kit.Bearer(cachedToken)
	case c.token != "":
		return kit.Bearer(c.token)
	case c.user != "":
		return kit.Basic(c.user, c.password)
	}
	return kit.Auth{}
}

// request is one registry API call.
type request struct {
	method string
	url    *url.URL
	accept string
	// scope is the access the call needs in the token spec's terms
	// ("registry:catalog:*", "repository:<name>:pull"): the token cache key.
	scope string
	// fresh ignores cached tokens.
	fresh bool
}

// send makes r with the registry auth flow: Basic (or a static token)
// directly; on a 401 with a Bearer challenge, a token from the challenge's
// realm (fetched with the Basic credentials when there are some), cached
// for its expires_in, and one retry. Any status is returned as a response,
// except a valid token's insufficient scope: PERMISSION_DENIED.
func (c *Connector) send(ctx context.Context, cred credential, r request) (*http.Response, error) {
	key := c.tokens.key(r.scope, cred)
	cached := ""
	if !r.fresh {
		cached = c.tokens.get(key, c.hc.Now())
	}
	resp, err := c.attempt(ctx, r, cred.authorization(cached))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if cred.token != "" {
		// A static token is the credential itself: nothing to exchange.
		return refused(resp, cred, r)
	}
	ch, ok := kit.BearerChallenge(resp.Header)
	if !ok {
		return resp, nil // a Basic challenge: the credentials were refused
	}
	kit.Drain(resp)
	if cached != "" {
		c.tokens.drop(key) // expired or revoked early
	}
	token, lifetime, err := c.fetchToken(ctx, cred, ch)
	if err != nil {
		return nil, err
	}
	c.tokens.put(key, token, c.hc.Now(), lifetime)
	resp, err = c.attempt(ctx, r, kit.Bearer(token))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	return refused(resp, cred, r)
}

// refused reads a 401 to a bearer token. With credentials and the token
// spec's error="insufficient_scope", the credentials are fine but may not do
// this (a catalog many registries keep for admins): PERMISSION_DENIED, not
// AUTHENTICATION_FAILED. Anonymous callers keep the 401: they need to log in.
func refused(resp *http.Response, cred credential, r request) (*http.Response, error) {
	ch, ok := kit.BearerChallenge(resp.Header)
	if !ok || ch.Params["error"] != "insufficient_scope" || (cred.user == "" && cred.token == "") {
		return resp, nil
	}
	kit.Drain(resp)
	return nil, resilience.New(resilience.PermissionDenied, "%s %s://%s%s: the credentials are valid but lack the registry scope %q",
		r.method, r.url.Scheme, r.url.Host, r.url.EscapedPath(), ch.Params["scope"])
}

// attempt sends r once with the given Authorization value.
func (c *Connector) attempt(ctx context.Context, r request, authorization kit.Auth) (*http.Response, error) {
	return c.hc.Send(ctx, kit.Request{Method: r.method, URL: r.url.String(), Auth: authorization, Accept: r.accept})
}

// tokenAnswer is the token endpoint's JSON answer.
type tokenAnswer struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// fetchToken asks the challenge's realm for a token
// (https://distribution.github.io/distribution/spec/auth/token/).
func (c *Connector) fetchToken(ctx context.Context, cred credential, ch kit.Challenge) (string, time.Duration, error) {
	realm, err := url.Parse(ch.Params["realm"])
	if err != nil || (realm.Scheme != "http" && realm.Scheme != "https") || realm.Hostname() == "" {
		return "", 0, resilience.New(resilience.UpstreamError, "the registry's token realm is not an absolute http(s) URL")
	}
	if cred.user != "" && c.base.Scheme == "https" && realm.Scheme != "https" {
		return "", 0, resilience.New(resilience.UpstreamError,
			"refusing to send the credentials of an https registry to a plain-http token realm (%s)", realm.Host)
	}
	q := realm.Query()
	if s := ch.Params["service"]; s != "" {
		q.Set("service", s)
	}
	for _, s := range strings.Fields(ch.Params["scope"]) {
		q.Add("scope", s)
	}
	if cred.user != "" {
		q.Set("account", cred.user)
	}
	realm.RawQuery = q.Encode()
	var auth kit.Auth
	if cred.user != "" {
		auth = kit.Basic(cred.user, cred.password)
	}
	var answer tokenAnswer
	if _, err := c.hc.Call(ctx, "fetch a registry token", kit.Request{URL: realm.String(), Auth: auth}, &answer); err != nil {
		return "", 0, err
	}
	token := answer.Token
	if token == "" {
		token = answer.AccessToken
	}
	if token == "" {
		return "", 0, resilience.New(resilience.UpstreamError, "the token service answered without a token")
	}
	lifetime := time.Duration(answer.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = defaultTokenLifetime
	}
	return token, lifetime, nil
}
