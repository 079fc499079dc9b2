package drone

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/drone/spec"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxBody bounds a JSON answer read into memory: the repository list of a
// large installation is a few megabytes.
const maxBody = 32 << 20

// Connector is the Drone connector of one integration revision. It keeps
// no token: each call resolves the credential reference.
type Connector struct {
	base          *url.URL
	namespace     string
	credentialRef string
	credentials   connectors.CredentialSource
	hc            kit.Client
}

var (
	_ connectors.Checker     = (*Connector)(nil)
	_ connectors.Discoverer  = (*Connector)(nil)
	_ connectors.Triggerer   = (*Connector)(nil)
	_ connectors.RunFollower = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	ns := cfg.String("namespace")
	if ns != "" && !validPart(ns) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"namespace\" is not a repository owner")
	}
	c := &Connector{base: base, namespace: ns, credentialRef: in.Integration.CredentialRef, credentials: in.Credentials}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// validPart is the declaration's rule for an owner or a repository name.
func validPart(s string) bool { return spec.NamePart.MatchString(s) && spec.CheckNamePart(s) == nil }

// repoPath is the escaped API path of the repository slug (owner/name).
func repoPath(slug string) (string, error) {
	owner, name, ok := strings.Cut(slug, "/")
	if !ok || !validPart(owner) || !validPart(name) {
		return "", resilience.New(resilience.InvalidConfig, "%q is not a Drone repository (owner/name)", slug)
	}
	return kit.Segments("api", "repos", owner, name), nil
}

// request is one API call; path is escaped.
type request struct {
	method string
	path   string
	query  url.Values
}

// call sends r with the token and decodes a 2xx JSON answer into out.
func (c *Connector) call(ctx context.Context, what string, r request, out any) error {
	auth, err := kit.Credential(ctx, c.credentials, c.credentialRef, "the Drone token", []string{connectors.CredToken})
	if err != nil {
		return err
	}
	_, err = c.hc.Call(ctx, what, kit.Request{Method: r.method, URL: kit.Endpoint(c.base, r.path, r.query), Auth: auth, MaxBody: maxBody}, out)
	return err
}

// CheckConnectivity reads /api/user without the token: Drone's 401 proves
// its API is there.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach the Drone API", kit.Request{Method: http.MethodGet, URL: kit.Endpoint(c.base, "/api/user", nil)})
}

// CheckAuthentication reads the token's user: 401 is a token Drone does
// not know.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	var me struct {
		Login string `json:"login"`
	}
	if err := c.call(ctx, "authenticate to Drone", request{method: http.MethodGet, path: "/api/user"}, &me); err != nil {
		return err
	}
	if me.Login == "" {
		return resilience.New(resilience.UpstreamError, "authenticate to Drone: /api/user answered without a login")
	}
	return nil
}

// CheckFunctionality lists the repositories the token's user sees.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	var repos []droneRepo
	return c.call(ctx, "list Drone repositories", request{method: http.MethodGet, path: "/api/user/repos"}, &repos)
}
