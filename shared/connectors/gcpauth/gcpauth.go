// Package gcpauth is how the hub's Google Cloud providers authenticate and
// read Google's REST APIs, once for all of them: an OAuth2 access token
// from a service-account key (a JWT signed with the key, exchanged at the
// key's token_uri or a configured token URL), cached until it expires; an
// authenticated GET that retries once with a new token after a 401; and
// Google's error body mapped to the hub's codes.
package gcpauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// DefaultTokenURL is Google's token endpoint, used when neither the config
// nor the key names one.
const DefaultTokenURL = "https://oauth2.googleapis.com/token"

// maxBody bounds an answer read into memory.
const maxBody = 1 << 20

// CheckURL checks a base URL of config field field.
func CheckURL(field, raw string) (string, error) {
	u, err := kit.ParseBaseURL(field, raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Tokens gets and caches the access token of one integration. It keeps the
// token, never the key: Key is called whenever a new token is needed.
type Tokens struct {
	// TokenURL overrides the key's token_uri ("" to use it).
	TokenURL string
	// Scopes are what the token is asked for.
	Scopes []string
	// Key resolves the service-account key.
	Key  func(context.Context) (credentials.Secret, error)
	HTTP kit.Client

	mu    sync.Mutex
	token *oauth2.Token
}

// Forget drops the cached token.
func (t *Tokens) Forget() {
	t.mu.Lock()
	t.token = nil
	t.mu.Unlock()
}

// Token returns the cached access token, or (fresh, or none cached, or
// about to expire) a new one from the key.
func (t *Tokens) Token(ctx context.Context, fresh bool) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !fresh && t.token != nil && t.token.Expiry.After(t.HTTP.Now().Add(time.Minute)) {
		return t.token.AccessToken, nil
	}
	s, err := t.Key(ctx)
	if err != nil {
		return "", err
	}
	cred, err := s.As(credentials.TypeServiceAccount)
	if err != nil || len(cred.ServiceAccountJSON) == 0 {
		return "", resilience.New(resilience.InvalidConfig, "the GCP credentials must be a service-account key (JSON with type service_account, client_email, private_key)")
	}
	var key struct {
		ClientEmail  string `json:"client_email"`
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
		TokenURI     string `json:"token_uri"`
	}
	if err := json.Unmarshal(cred.ServiceAccountJSON, &key); err != nil {
		return "", resilience.New(resilience.InvalidConfig, "the service-account key is not valid JSON")
	}
	tokenURL := t.TokenURL
	if tokenURL == "" {
		tokenURL = key.TokenURI
	}
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	if tokenURL, err = CheckURL("tokenUrl", tokenURL); err != nil {
		return "", err
	}
	conf := &jwt.Config{Email: key.ClientEmail, PrivateKey: []byte(key.PrivateKey), PrivateKeyID: key.PrivateKeyID,
		Scopes: t.Scopes, TokenURL: tokenURL}
	// x/oauth2 flattens a transport error into text: the recorder keeps its
	// code (DESTINATION_BLOCKED, TIMEOUT, ...) for tokenError.
	hc, rec := t.HTTP.HTTP.Recording()
	tctx := context.WithValue(ctx, oauth2.HTTPClient, hc)
	tok, err := conf.TokenSource(tctx).Token()
	if err != nil {
		return "", tokenError(err, rec.Failure())
	}
	t.token = tok
	return tok.AccessToken, nil
}

// tokenError classifies a failed token exchange: the token endpoint's
// refusal (invalid_grant: an unknown or disabled key, a bad signature) is
// AUTHENTICATION_FAILED; a transport failure (the guard's refusal, a
// timeout), recorded by the client because x/oauth2 drops it from the
// chain, keeps its code.
func tokenError(err error, transport *resilience.Error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := resilience.AuthenticationFailed
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
			if status == http.StatusTooManyRequests {
				code = resilience.RateLimited
			} else if status >= 500 {
				code = resilience.UpstreamError
			}
		}
		errCode, desc := re.ErrorCode, re.ErrorDescription
		if errCode == "" {
			// x/oauth2/jwt leaves the body unparsed: RFC 6749's error JSON.
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				errCode, desc = body.Error, body.Description
			}
		}
		return resilience.New(code, "the OAuth2 token endpoint refused the service-account key (HTTP %d %s: %s)",
			status, secrets.Detail(errCode), secrets.Detail(desc))
	}
	coded := transport
	if coded == nil {
		errors.As(err, &coded)
	}
	if coded != nil {
		return &resilience.Error{Code: coded.Code, Message: "obtain a GCP access token: " + coded.Message, RetryAfter: coded.RetryAfter, Err: coded.Err}
	}
	if strings.Contains(err.Error(), "private key") || strings.Contains(err.Error(), "PEM") {
		return resilience.New(resilience.InvalidConfig, "the service-account key's private_key is not a valid PEM RSA key")
	}
	return resilience.New(resilience.UpstreamError, "obtain a GCP access token: the exchange failed")
}

// Get sends an authenticated GET of endpoint+path?query and decodes the
// JSON answer into out. A 401 with a cached token retries once with a new
// one.
func (t *Tokens) Get(ctx context.Context, what, endpoint, path string, query url.Values, out any) error {
	for attempt := 0; ; attempt++ {
		token, err := t.Token(ctx, attempt > 0)
		if err != nil {
			return err
		}
		u := endpoint + path
		if len(query) > 0 {
			u += "?" + query.Encode()
		}
		resp, err := t.HTTP.Send(ctx, kit.Request{URL: u, Auth: kit.Bearer(token)})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			continue // the cached token was revoked or expired early
		}
		if resp.StatusCode >= 400 {
			return APIError(t.HTTP, what, resp, body)
		}
		if rerr != nil {
			return resilience.Wrap(resilience.UpstreamError, rerr, "%s: reading the answer", what)
		}
		if err := json.Unmarshal(body, out); err != nil {
			return resilience.New(resilience.UpstreamError, "%s: the answer is not JSON", what)
		}
		return nil
	}
}

// APIError reads Google's error body {"error": {"code", "message", "status"}}.
func APIError(hc kit.Client, what string, resp *http.Response, body []byte) error {
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	code := map[string]resilience.Code{
		"NOT_FOUND": resilience.ResourceNotFound, "PERMISSION_DENIED": resilience.PermissionDenied,
		"UNAUTHENTICATED": resilience.AuthenticationFailed, "RESOURCE_EXHAUSTED": resilience.RateLimited,
		"INVALID_ARGUMENT": resilience.InvalidConfig, "UNAVAILABLE": resilience.UpstreamError, "INTERNAL": resilience.UpstreamError,
		// A disabled or destroyed version: no value to read.
		"FAILED_PRECONDITION": resilience.ResourceNotFound, "DEADLINE_EXCEEDED": resilience.Timeout,
	}[e.Error.Status]
	if code == "" {
		return fmt.Errorf("%s: %w", what, hc.Check(resp))
	}
	out := &resilience.Error{Code: code, Message: fmt.Sprintf("%s: %s (HTTP %d): %s", what, e.Error.Status, resp.StatusCode, secrets.Detail(e.Error.Message))}
	if code == resilience.RateLimited {
		out.RetryAfter, _ = httpx.RetryAfter(resp.Header, hc.Now())
	}
	return out
}
