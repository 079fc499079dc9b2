package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxBody bounds a JSON answer read into memory: a page of 100 projects or
// jobs is well under a megabyte.
const maxBody = 16 << 20

// client is the REST v4 client both roles share. It keeps no token: each
// call resolves the credential reference and drops the value when done.
type client struct {
	api           *url.URL // the base URL plus /api/v4
	tokenType     string
	credentialRef string
	credentials   connectors.CredentialSource
	http          *httpx.Client
	ownsHTTP      bool
	now           func() time.Time
}

func newClient(in connectors.Instance) (*client, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := parseBaseURL(cfg.String("url"))
	if err != nil {
		return nil, err
	}
	api := *base
	api.Path = strings.TrimSuffix(base.Path, "/") + "/api/v4"
	c := &client{
		api: &api, tokenType: cfg.String("tokenType"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
		http: in.HTTP, now: time.Now,
	}
	if c.tokenType != TokenPrivate && c.tokenType != TokenBearer {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"tokenType\" must be %s or %s", TokenPrivate, TokenBearer)
	}
	if c.http == nil {
		// The runtime always hands one over; without it, the strict default
		// policy (no internal addresses) is the safe choice.
		if c.http, err = httpx.New(connectors.HTTPOptions(cfg, httpx.GuardPolicy{}, nil)); err != nil {
			return nil, err
		}
		c.ownsHTTP = true
	}
	return c, nil
}

// parseBaseURL accepts an absolute http(s) URL without user info, query or
// fragment; a path (GitLab under a relative URL root) is kept.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, resilience.New(resilience.InvalidConfig, "config field \"url\" is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return nil, resilience.New(resilience.InvalidConfig, "config field \"url\" must be an absolute http or https URL")
	case u.User != nil:
		return nil, resilience.New(resilience.InvalidConfig, "config field \"url\" must not carry user info: use credentialRef")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, resilience.New(resilience.InvalidConfig, "config field \"url\" must not carry a query or fragment")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// validProject reports whether p is a project id or path.
func validProject(p string) bool {
	return len(p) <= maxProjectLength && projectPathPattern.MatchString(p) && !strings.Contains(p, "..")
}

// projectPath is the escaped API path of a project: GitLab wants a path's
// slashes encoded ("/projects/group%2Fapp").
func projectPath(project string) string { return "/projects/" + url.PathEscape(project) }

func (c *client) close() {
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
}

// request is one API call. path is already escaped.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	// anonymous sends no token (the connectivity probe).
	anonymous bool
}

// send makes r with the token and returns the response whatever its
// status; the caller drains it.
func (c *client) send(ctx context.Context, r request) (*http.Response, error) {
	token := ""
	if !r.anonymous {
		var err error
		if token, err = c.token(ctx); err != nil {
			return nil, err
		}
	}
	target := c.api.String() + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "encode the request body")
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "build a GitLab request")
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case token == "":
	case c.tokenType == TokenBearer:
		req.Header.Set("Authorization", "Bearer "+token)
	default:
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	return c.http.Do(req)
}

// call sends r and decodes a 2xx JSON answer into out (nil: no body
// wanted). Any other status is a coded error; what names the operation.
func (c *client) call(ctx context.Context, what string, r request, out any) (http.Header, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer drain(resp)
	if err := httpx.CheckResponse(resp, c.now()); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if out == nil {
		return resp.Header, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return nil, resilience.Wrap(resilience.UpstreamError, err, "%s: the answer is not GitLab's JSON", what)
	}
	return resp.Header, nil
}

// token resolves the credential reference for one call; "" when the
// integration has none (GitLab then answers as to an anonymous visitor).
func (c *client) token(ctx context.Context) (string, error) {
	if c.credentialRef == "" {
		return "", nil
	}
	if c.credentials == nil {
		return "", resilience.New(resilience.CredentialFetchFailed, "no credential source is configured")
	}
	secret, err := c.credentials.Resolve(ctx, c.credentialRef)
	if err != nil {
		var coded *resilience.Error
		if !errors.As(err, &coded) {
			err = resilience.Wrap(resilience.CredentialFetchFailed, err, "")
		}
		return "", fmt.Errorf("resolve the GitLab token: %w", err)
	}
	token, err := secret.Token()
	if err != nil {
		return "", resilience.New(resilience.InvalidConfig, "the GitLab credentials hold no token (key token, access_token or value)")
	}
	if strings.ContainsAny(token, "\r\n") {
		return "", resilience.New(resilience.InvalidConfig, "the GitLab token holds a line break")
	}
	return token, nil
}

// checkConnectivity asks for /version without a token: GitLab answers 401
// to anonymous callers, which proves the API is there as well as a 200.
func (c *client) checkConnectivity(ctx context.Context) error {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/version", anonymous: true})
	if err != nil {
		return fmt.Errorf("reach GitLab: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusUnauthorized {
		return nil
	}
	if err := httpx.CheckResponse(resp, c.now()); err != nil {
		return fmt.Errorf("reach GitLab: %w", err)
	}
	return nil
}

// checkAuthentication reads the token's user: 401 is a token GitLab does
// not know (or none), 403 one without a scope that can read the API.
func (c *client) checkAuthentication(ctx context.Context) error {
	var user struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	if _, err := c.call(ctx, "authenticate to GitLab", request{method: http.MethodGet, path: "/user"}, &user); err != nil {
		return err
	}
	if user.ID == 0 {
		return resilience.New(resilience.UpstreamError, "authenticate to GitLab: /user answered without a user")
	}
	return nil
}

// drain reads what is left of a small body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
