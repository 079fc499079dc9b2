package gcpsm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxBody bounds an answer read into memory (a secret version is at most
// 64 KiB, base64 makes it 88).
const maxBody = 1 << 20

// Connector is the gcp-secret-manager connector of one integration
// revision. It keeps the access token (not the key) until it expires; the
// key is resolved again whenever a token is needed.
type Connector struct {
	endpoint, project, tokenURL, canary string
	credentialRef                       string
	credentials                         connectors.CredentialSource
	http                                kit.Client

	mu    sync.Mutex
	token *oauth2.Token
}

var (
	_ connectors.Checker      = (*Connector)(nil)
	_ connectors.SecretReader = (*Connector)(nil)
	_ credentials.LeaseReader = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	c := &Connector{
		project: cfg.String("project"), tokenURL: cfg.String("tokenUrl"), canary: cfg.String("canarySecret"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if !projectID.MatchString(c.project) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"project\" must be a GCP project ID or number")
	}
	if c.credentialRef == "" {
		return nil, resilience.New(resilience.InvalidConfig, "credentialRef is required: an env:// or file:// reference to a service-account key")
	}
	if err := secrets.CheckLocalRef("credentialRef", c.credentialRef); err != nil {
		return nil, err
	}
	var err error
	if c.endpoint, err = checkURL("url", cfg.String("url")); err != nil {
		return nil, err
	}
	if c.tokenURL != "" {
		if c.tokenURL, err = checkURL("tokenUrl", c.tokenURL); err != nil {
			return nil, err
		}
	}
	if c.canary != "" {
		if _, _, err := c.versionName(c.canary); err != nil {
			return nil, err
		}
	}
	if c.http, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

func checkURL(field, raw string) (string, error) {
	u, err := kit.ParseBaseURL(field, raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Close forgets the access token.
func (c *Connector) Close() error {
	c.mu.Lock()
	c.token = nil
	c.mu.Unlock()
	return nil
}

// versionName reads a path: <secret>, <secret>/<version> or
// <secret>/versions/<version>, the version a number, "latest" or an alias.
func (c *Connector) versionName(p string) (secret, version string, err error) {
	if secret, version, err = splitVersionPath(p); err != nil {
		return "", "", resilience.Wrap(resilience.InvalidConfig, err, "secret path")
	}
	return secret, version, nil
}

// accessToken returns a cached access token, or a new one from the key.
func (c *Connector) accessToken(ctx context.Context, fresh bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fresh && c.token != nil && c.token.Expiry.After(c.http.Now().Add(time.Minute)) {
		return c.token.AccessToken, nil
	}
	s, err := secrets.ResolveOwn(ctx, c.credentials, "credentialRef", c.credentialRef)
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
	tokenURL := c.tokenURL
	if tokenURL == "" {
		tokenURL = key.TokenURI
	}
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	if tokenURL, err = checkURL("tokenUrl", tokenURL); err != nil {
		return "", err
	}
	conf := &jwt.Config{Email: key.ClientEmail, PrivateKey: []byte(key.PrivateKey), PrivateKeyID: key.PrivateKeyID,
		Scopes: []string{Scope}, TokenURL: tokenURL}
	// x/oauth2 flattens a transport error into text: the recorder keeps its
	// code (DESTINATION_BLOCKED, TIMEOUT, ...) for tokenError.
	hc, rec := c.http.HTTP.Recording()
	tctx := context.WithValue(ctx, oauth2.HTTPClient, hc)
	tok, err := conf.TokenSource(tctx).Token()
	if err != nil {
		return "", tokenError(err, rec.Failure())
	}
	c.token = tok
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

// get sends an authenticated GET of an API path and decodes the JSON
// answer into out. A 401 with a cached token retries once with a new one.
func (c *Connector) get(ctx context.Context, what, path string, query url.Values, out any) error {
	for attempt := 0; ; attempt++ {
		token, err := c.accessToken(ctx, attempt > 0)
		if err != nil {
			return err
		}
		u := c.endpoint + "/v1/" + path
		if len(query) > 0 {
			u += "?" + query.Encode()
		}
		resp, err := c.http.Send(ctx, kit.Request{URL: u, Auth: kit.Bearer(token)})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			continue // the cached token was revoked or expired early
		}
		if resp.StatusCode >= 400 {
			return c.apiError(what, resp, body)
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

// apiError reads Google's error body {"error": {"code", "message", "status"}}.
func (c *Connector) apiError(what string, resp *http.Response, body []byte) error {
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
		return fmt.Errorf("%s: %w", what, c.http.Check(resp))
	}
	out := &resilience.Error{Code: code, Message: fmt.Sprintf("%s: %s (HTTP %d): %s", what, e.Error.Status, resp.StatusCode, secrets.Detail(e.Error.Message))}
	if code == resilience.RateLimited {
		out.RetryAfter, _ = httpx.RetryAfter(resp.Header, c.http.Now())
	}
	return out
}

// ReadSecret implements connectors.SecretReader.
func (c *Connector) ReadSecret(ctx context.Context, path string) (map[string]string, error) {
	s, err := c.read(ctx, path)
	return s.Data, err
}

// ReadSecretLease implements credentials.LeaseReader (versions have no
// lease; the version read is reported).
func (c *Connector) ReadSecretLease(ctx context.Context, path string) (credentials.StoreSecret, error) {
	return c.read(ctx, path)
}

// read accesses a secret version and checks its CRC32C.
func (c *Connector) read(ctx context.Context, path string) (credentials.StoreSecret, error) {
	secret, version, err := c.versionName(path)
	if err != nil {
		return credentials.StoreSecret{}, err
	}
	var out struct {
		Name    string `json:"name"`
		Payload struct {
			Data       string `json:"data"`
			DataCrc32c string `json:"dataCrc32c"`
		} `json:"payload"`
	}
	what := fmt.Sprintf("access secret %q version %s", secret, version)
	name := "projects/" + c.project + "/secrets/" + secret + "/versions/" + version + ":access"
	if err := c.get(ctx, what, name, nil, &out); err != nil {
		return credentials.StoreSecret{}, err
	}
	data, err := base64.StdEncoding.DecodeString(out.Payload.Data)
	if err != nil {
		return credentials.StoreSecret{}, resilience.New(resilience.UpstreamError, "%s: the payload is not base64", what)
	}
	if out.Payload.DataCrc32c != "" {
		want, err := strconv.ParseUint(out.Payload.DataCrc32c, 10, 32)
		if err != nil || crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) != uint32(want) {
			return credentials.StoreSecret{}, resilience.New(resilience.UpstreamError, "%s: the payload does not match its CRC32C checksum", what)
		}
	}
	v := out.Name[strings.LastIndex(out.Name, "/")+1:]
	return credentials.StoreSecret{Data: secrets.Values(string(data)), Version: v}, nil
}

// CheckConnectivity sends an unauthenticated request: any HTTP answer (the
// API says 401) proves it is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.http.Reach(ctx, "reach GCP Secret Manager", c.endpoint+"/v1/projects/"+c.project+"/secrets?pageSize=1")
	return err
}

// CheckAuthentication exchanges the key for a new access token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	_, err := c.accessToken(ctx, true)
	return err
}

// CheckFunctionality reads the canary secret, or lists one secret.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	if c.canary != "" {
		_, err := c.read(ctx, c.canary)
		return err
	}
	var out map[string]any
	return c.get(ctx, "list secrets", "projects/"+c.project+"/secrets", url.Values{"pageSize": {"1"}}, &out)
}
