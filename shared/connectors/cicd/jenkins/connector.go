package jenkins

import (
	"context"
	"encoding/base64"
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

// maxBody bounds a JSON answer read into memory: the job tree of a large
// controller is a few megabytes.
const maxBody = 32 << 20

// Connector is the Jenkins connector of one integration revision. It keeps
// no credential: each call resolves it and drops it when done.
type Connector struct {
	base          *url.URL
	folder        string
	refParameter  string
	credentialRef string
	credentials   connectors.CredentialSource
	http          *httpx.Client
	ownsHTTP      bool
	now           func() time.Time
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ connectors.Triggerer  = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := parseBaseURL(cfg.String("url"))
	if err != nil {
		return nil, err
	}
	folder := strings.Trim(cfg.String("folder"), "/")
	if folder != "" && !validFullName(folder) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"folder\" is not a folder's full name (team/sub)")
	}
	c := &Connector{
		base: base, folder: folder, refParameter: cfg.String("refParameter"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
		http: in.HTTP, now: time.Now,
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
// fragment; a path (Jenkins under a prefix) is kept.
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

// jobPath is the escaped URL path of a job by full name: /job/a/job/b.
func jobPath(fullName string) string {
	if fullName == "" {
		return ""
	}
	var b strings.Builder
	for _, seg := range strings.Split(fullName, "/") {
		b.WriteString("/job/")
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}

// Close releases idle connections when the connector built its own client.
func (c *Connector) Close() error {
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// credential is what one call resolved: a user and an API token (or
// password); empty for anonymous calls.
type credential struct{ user, secret string }

func (cr credential) header() string {
	if cr.user == "" {
		return ""
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(cr.user+":"+cr.secret))
}

// credential resolves the integration's credential reference for one call.
func (c *Connector) credential(ctx context.Context) (credential, error) {
	if c.credentialRef == "" {
		return credential{}, nil
	}
	if c.credentials == nil {
		return credential{}, resilience.New(resilience.CredentialFetchFailed, "no credential source is configured")
	}
	secret, err := c.credentials.Resolve(ctx, c.credentialRef)
	if err != nil {
		var coded *resilience.Error
		if !errors.As(err, &coded) {
			err = resilience.Wrap(resilience.CredentialFetchFailed, err, "")
		}
		return credential{}, fmt.Errorf("resolve the Jenkins credentials: %w", err)
	}
	user, token, err := secret.Basic()
	if err != nil {
		return credential{}, resilience.New(resilience.InvalidConfig,
			"the Jenkins credentials need username and password (the user's API token), or a value user:token")
	}
	return credential{user: user, secret: token}, nil
}

// request is one call; path is escaped and relative to the base URL.
type request struct {
	method  string
	path    string
	query   url.Values
	form    url.Values // a POST body
	header  http.Header
	cookies []*http.Cookie
}

// send makes r with cred and returns the response whatever its status;
// the caller drains it.
func (c *Connector) send(ctx context.Context, cred credential, r request) (*http.Response, error) {
	target := c.base.String() + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "build a Jenkins request")
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	if h := cred.header(); h != "" {
		req.Header.Set("Authorization", h)
	}
	for _, ck := range r.cookies {
		req.AddCookie(ck)
	}
	return c.http.Do(req)
}

// get sends a GET and decodes a 2xx JSON answer into out.
func (c *Connector) get(ctx context.Context, cred credential, what, path string, query url.Values, out any) error {
	resp, err := c.send(ctx, cred, request{method: http.MethodGet, path: path, query: query})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer drain(resp)
	if err := c.check(resp, cred); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return resilience.Wrap(resilience.UpstreamError, err, "%s: the answer is not Jenkins' JSON", what)
	}
	return nil
}

// check is httpx.CheckResponse with Jenkins' answer to anonymous callers:
// 403 to someone Jenkins sees as anonymous means "log in", not "you may
// not".
func (c *Connector) check(resp *http.Response, cred credential) error {
	err := httpx.CheckResponse(resp, c.now())
	if err == nil || resp.StatusCode != http.StatusForbidden || resilience.CodeOf(err) != resilience.PermissionDenied {
		return err
	}
	if who := resp.Header.Get("X-You-Are-Authenticated-As"); cred.user == "" || who == "anonymous" {
		return resilience.New(resilience.AuthenticationFailed, "Jenkins answered 403 to an anonymous request: it needs credentials (a user and API token)")
	}
	return err
}

// CheckConnectivity asks for the root API without credentials: any answer
// carrying Jenkins' X-Jenkins header, a 401 or 403 included, proves the
// controller is there.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	resp, err := c.send(ctx, credential{}, request{method: http.MethodGet, path: "/api/json", query: url.Values{"tree": {"mode"}}})
	if err != nil {
		return fmt.Errorf("reach Jenkins: %w", err)
	}
	defer drain(resp)
	switch s := resp.StatusCode; {
	case s != http.StatusOK && s != http.StatusUnauthorized && s != http.StatusForbidden:
		if err := httpx.CheckResponse(resp, c.now()); err != nil {
			return fmt.Errorf("reach Jenkins: %w", err)
		}
		return resilience.New(resilience.UpstreamError, "reach Jenkins: /api/json answered HTTP %d", s)
	case resp.Header.Get("X-Jenkins") == "":
		return resilience.New(resilience.InvalidConfig,
			"reach Jenkins: %s answered HTTP %d without an X-Jenkins header: it is not a Jenkins root URL", c.base.Host, s)
	}
	return nil
}

// CheckAuthentication reads /me: 401 is a wrong user or token; answering as
// anonymous means no credentials were taken.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	cred, err := c.credential(ctx)
	if err != nil {
		return err
	}
	var me struct {
		ID string `json:"id"`
	}
	if err := c.get(ctx, cred, "authenticate to Jenkins", "/me/api/json", url.Values{"tree": {"id,fullName"}}, &me); err != nil {
		return err
	}
	if me.ID == "" || me.ID == "anonymous" {
		return resilience.New(resilience.AuthenticationFailed, "authenticate to Jenkins: Jenkins answers as anonymous; set credentialRef")
	}
	return nil
}

// CheckFunctionality lists the top-level job names.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	cred, err := c.credential(ctx)
	if err != nil {
		return err
	}
	var root struct {
		Jobs []struct {
			Name string `json:"name"`
		} `json:"jobs"`
	}
	return c.get(ctx, cred, "list Jenkins jobs", jobPath(c.folder)+"/api/json", url.Values{"tree": {"jobs[name]"}}, &root)
}

// drain reads what is left of a small body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
