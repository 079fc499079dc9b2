package gitlab

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// client is the REST v4 client both roles share. It keeps no token: each
// call resolves the credential reference and drops the value when done.
type client struct {
	api           *url.URL // the base URL plus /api/v4
	tokenType     string
	credentialRef string
	credentials   connectors.CredentialSource
	hc            kit.Client
}

func newClient(in connectors.Instance) (*client, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	// A path (GitLab under a relative URL root) is kept.
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	api, _ := url.Parse(kit.Endpoint(base, "/api/v4", nil))
	c := &client{
		api: api, tokenType: cfg.String("tokenType"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.tokenType != TokenPrivate && c.tokenType != TokenBearer {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"tokenType\" must be %s or %s", TokenPrivate, TokenBearer)
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// validProject reports whether p is a project id or path.
func validProject(p string) bool {
	return len(p) <= maxProjectLength && projectPathPattern.MatchString(p) && !strings.Contains(p, "..")
}

// projectPath is the escaped API path of a project: GitLab wants a path's
// slashes encoded ("/projects/group%2Fapp").
func projectPath(project string) string { return kit.Segments("projects", project) }

// request is one API call. path is already escaped.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	// anonymous sends no token (the connectivity probe).
	anonymous bool
}

// request renders r with the token (none for anonymous calls).
func (c *client) request(ctx context.Context, r request) (kit.Request, error) {
	req := kit.Request{Method: r.method, URL: kit.Endpoint(c.api, r.path, r.query), JSON: r.body}
	if r.anonymous {
		return req, nil
	}
	scheme := kit.Scheme{Header: "PRIVATE-TOKEN"}
	if c.tokenType == TokenBearer {
		scheme = kit.BearerScheme
	}
	auth, err := kit.Credential(ctx, c.credentials, c.credentialRef, "the GitLab token",
		[]string{connectors.CredToken}, kit.TokenAs(scheme))
	req.Auth = auth
	return req, err
}

// call sends r and decodes a 2xx JSON answer into out (nil: no body
// wanted). Any other status is a coded error; what names the operation.
func (c *client) call(ctx context.Context, what string, r request, out any) (http.Header, error) {
	req, err := c.request(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Call(ctx, what, req, out)
	if err != nil {
		return nil, err
	}
	return resp.Header, nil
}

// checkConnectivity asks for /version without a token: GitLab answers 401
// to anonymous callers, which proves the API is there as well as a 200.
func (c *client) checkConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach GitLab", kit.Request{URL: kit.Endpoint(c.api, "/version", nil)})
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
