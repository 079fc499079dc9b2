package gitea

import (
	"context"
	"net/http"
	"net/url"
	"sync"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/scm/scmkit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the Gitea connector of one integration revision. It keeps
// no token: each request resolves the credential reference.
type Connector struct {
	base          *url.URL // Gitea's base URL; the SDK adds /api/v1
	owner         string
	credentialRef string
	credentials   connectors.CredentialSource
	hc            kit.Client
	http          *http.Client // the guarded client as the SDK takes it

	mu      sync.Mutex
	version string // the server's version, read once
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	// A path (Gitea under a sub-path, ROOT_URL=https://host/git/) is kept.
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	c := &Connector{base: base, owner: cfg.String("owner"), credentialRef: in.Integration.CredentialRef, credentials: in.Credentials}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	// The check reads c.hc at call time, so a test's clock applies.
	c.http = c.hc.SDKClient(c.token, func(resp *http.Response) error { return c.hc.Check(resp) })
	return c, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// token resolves the credential for one request as Gitea's
// "Authorization: token <t>".
func (c *Connector) token(ctx context.Context) (kit.Auth, error) {
	return kit.Credential(ctx, c.credentials, c.credentialRef, "the Gitea token", []string{connectors.CredToken},
		kit.TokenAs(kit.Scheme{Header: "Authorization", Prefix: "token "}))
}

// client is a Gitea SDK client for one call: the SDK keeps its context per
// client. The first one reads the server's version for all later ones.
func (c *Connector) client(ctx context.Context) (*sdk.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	opts := []sdk.ClientOption{sdk.SetHTTPClient(c.http), sdk.SetContext(ctx)}
	if c.version == "" {
		probe, err := sdk.NewClient(c.base.String(), append(opts, sdk.SetGiteaVersion(""))...)
		if err != nil {
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "build the Gitea client")
		}
		v, _, err := probe.ServerVersion()
		if err != nil {
			return nil, kit.SDKError("read the Gitea version", err)
		}
		// NewClient with the version refuses one that is not a version or
		// older than the SDK supports (1.11).
		client, err := sdk.NewClient(c.base.String(), append(opts, sdk.SetGiteaVersion(v))...)
		if err != nil {
			return nil, resilience.Wrap(resilience.UpstreamError, err, "Gitea answered version %q", v)
		}
		c.version = v
		return client, nil
	}
	client, err := sdk.NewClient(c.base.String(), append(opts, sdk.SetGiteaVersion(c.version))...)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "build the Gitea client")
	}
	return client, nil
}

// CheckConnectivity reads /api/v1/version without a token: any answer of
// the API passes, 401 included (a server that requires sign-in).
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach Gitea", kit.Request{URL: kit.Endpoint(c.base, "/api/v1/version", nil)})
}

// CheckAuthentication reads the token's user: 401 is a token Gitea does
// not know (or none).
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	client, err := c.client(ctx)
	if err != nil {
		return err
	}
	user, _, err := client.GetMyUserInfo()
	if err != nil {
		return kit.SDKError("authenticate to Gitea", err)
	}
	if user.UserName == "" {
		return resilience.New(resilience.UpstreamError, "authenticate to Gitea: /user answered without a login")
	}
	return nil
}

// CheckFunctionality lists one repository of the owner (of the token's user
// when none is configured): a real read the discovery depends on.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	return scmkit.CheckRepositories(ctx, c.repositories)
}
