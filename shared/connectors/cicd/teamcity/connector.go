package teamcity

import (
	"context"
	"net/http"
	"net/url"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxBody bounds a JSON answer read into memory: a page of 100 build
// configurations is well under a megabyte.
const maxBody = 8 << 20

// Connector is the TeamCity connector of one integration revision. It
// keeps no token: each call resolves the credential reference.
type Connector struct {
	base          *url.URL
	project       string
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
	// A path (TeamCity under a context path) is kept.
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	project := cfg.String("project")
	if project != "" && !externalID.MatchString(project) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"project\" is not a TeamCity project id")
	}
	c := &Connector{base: base, project: project, credentialRef: in.Integration.CredentialRef, credentials: in.Credentials}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// request is one REST call; path is escaped and relative to the base URL.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
}

// call sends r with the token and decodes a 2xx JSON answer into out.
func (c *Connector) call(ctx context.Context, what string, r request, out any) error {
	auth, err := kit.Credential(ctx, c.credentials, c.credentialRef, "the TeamCity token", []string{connectors.CredToken})
	if err != nil {
		return err
	}
	_, err = c.hc.Call(ctx, what, kit.Request{Method: r.method, URL: kit.Endpoint(c.base, r.path, r.query), JSON: r.body,
		Auth: auth, MaxBody: maxBody}, out)
	return err
}

// CheckConnectivity reads /app/rest/server without the token: TeamCity's
// 401 proves the REST API is there.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach the TeamCity REST API", kit.Request{Method: http.MethodGet, URL: kit.Endpoint(c.base, "/app/rest/server", nil)})
}

// CheckAuthentication reads the token's user: 401 is a token TeamCity
// does not know.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	var me struct {
		Username string `json:"username"`
	}
	if err := c.call(ctx, "authenticate to TeamCity", request{method: http.MethodGet, path: "/app/rest/users/current"}, &me); err != nil {
		return err
	}
	if me.Username == "" {
		return resilience.New(resilience.UpstreamError, "authenticate to TeamCity: /app/rest/users/current answered without a user")
	}
	return nil
}

// CheckFunctionality lists one build configuration (of the configured
// project, when set: an unknown project is RESOURCE_NOT_FOUND).
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	var page collection
	return c.call(ctx, "list TeamCity build configurations", request{method: http.MethodGet, path: "/app/rest/buildTypes",
		query: url.Values{"locator": {c.locator(1, 0)}}}, &page)
}
