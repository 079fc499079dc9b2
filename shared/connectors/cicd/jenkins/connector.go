package jenkins

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
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
	hc            kit.Client
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
	// A path (Jenkins under a prefix) is kept.
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
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
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// jobPath is the escaped URL path of a job by full name: /job/a/job/b.
func jobPath(fullName string) string {
	if fullName == "" {
		return ""
	}
	var segs []string
	for _, seg := range strings.Split(fullName, "/") {
		segs = append(segs, "job", seg)
	}
	return kit.Segments(segs...)
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// credential is what one call resolved: a user and an API token (or
// password); empty for anonymous calls.
type credential struct{ user, secret string }

func (cr credential) auth() kit.Auth {
	if cr.user == "" {
		return kit.Auth{}
	}
	return kit.Basic(cr.user, cr.secret)
}

// credential resolves the integration's credential reference for one call.
func (c *Connector) credential(ctx context.Context) (credential, error) {
	if c.credentialRef == "" {
		return credential{}, nil
	}
	secret, err := kit.Resolve(ctx, c.credentials, c.credentialRef, "the Jenkins credentials")
	if err != nil {
		return credential{}, err
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
	return c.hc.Send(ctx, c.request(cred, r))
}

// request renders r: its headers, the session cookies of a crumb, cred.
func (c *Connector) request(cred credential, r request) kit.Request {
	header := r.header.Clone()
	if len(r.cookies) > 0 {
		if header == nil {
			header = http.Header{}
		}
		pairs := make([]string, 0, len(r.cookies))
		for _, ck := range r.cookies {
			pairs = append(pairs, (&http.Cookie{Name: ck.Name, Value: ck.Value}).String())
		}
		header.Set("Cookie", strings.Join(pairs, "; "))
	}
	return kit.Request{Method: r.method, URL: kit.Endpoint(c.base, r.path, r.query), Form: r.form, Header: header, Auth: cred.auth(), MaxBody: maxBody}
}

// get sends a GET and decodes a 2xx JSON answer into out.
func (c *Connector) get(ctx context.Context, cred credential, what, path string, query url.Values, out any) error {
	_, err := c.hc.CallChecked(ctx, what, c.request(cred, request{method: http.MethodGet, path: path, query: query}), out,
		func(resp *http.Response) error { return c.check(resp, cred) })
	return err
}

// check is httpx.CheckResponse with Jenkins' answer to anonymous callers:
// 403 to someone Jenkins sees as anonymous means "log in", not "you may
// not".
func (c *Connector) check(resp *http.Response, cred credential) error {
	err := c.hc.Check(resp)
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
	defer kit.Drain(resp)
	switch s := resp.StatusCode; {
	case s != http.StatusOK && s != http.StatusUnauthorized && s != http.StatusForbidden:
		if err := c.hc.Check(resp); err != nil {
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
