package dockerregistry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the docker-registry connector of one integration revision.
// It keeps no credential: each call resolves them and drops them when done;
// only the registry-issued bearer tokens are cached, until they expire.
type Connector struct {
	base           *url.URL
	repository     string
	resolveDigests bool
	credentialRef  string
	credentials    connectors.CredentialSource
	hc             kit.Client
	tokens         *tokenCache
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	// A path (a registry behind a prefix) is kept.
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	repo := cfg.String("repository")
	if repo != "" && !validRepository(repo) {
		return nil, resilience.New(resilience.InvalidConfig,
			"config field \"repository\" is not a repository name (lowercase path components like myorg/myapp)")
	}
	c := &Connector{
		base: base, repository: repo, resolveDigests: cfg.Bool("resolveDigests"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	if c.tokens, err = newTokenCache(); err != nil {
		return nil, err
	}
	return c, nil
}

// Close drops cached tokens.
func (c *Connector) Close() error {
	c.tokens.clear()
	return nil
}

// endpoint returns the URL of an API path ("/v2/_catalog") under the base.
func (c *Connector) endpoint(path string, query url.Values) *url.URL {
	u, _ := url.Parse(kit.Endpoint(c.base, path, query)) // our own base and validated names
	return u
}

// CheckConnectivity sends GET /v2/ without credentials: any answer of the
// API, a 401 challenge included, proves the registry is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach the registry", kit.Request{URL: c.endpoint("/v2/", nil).String()})
}

// CheckAuthentication sends GET /v2/ through the auth flow with a token
// fetched now, never a cached one: it must prove the credentials today.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	cred, err := c.credential(ctx)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, cred, request{method: http.MethodGet, url: c.endpoint("/v2/", nil), fresh: true})
	if err != nil {
		return fmt.Errorf("authenticate to the registry: %w", err)
	}
	defer kit.Drain(resp)
	if err := c.hc.Check(resp); err != nil {
		return fmt.Errorf("authenticate to the registry: %w", err)
	}
	return nil
}

// CheckFunctionality reads one catalog entry, the cheapest real operation.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	cred, err := c.credential(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.listPage(ctx, cred, catalog(), url.Values{"n": {"1"}})
	return err
}

// credential resolves the integration's credential reference for one call;
// no reference means anonymous access.
func (c *Connector) credential(ctx context.Context) (credential, error) {
	if c.credentialRef == "" {
		return credential{}, nil
	}
	secret, err := kit.Resolve(ctx, c.credentials, c.credentialRef, "the registry credentials")
	if err != nil {
		return credential{}, err
	}
	if user, password, err := secret.Basic(); err == nil {
		return credential{user: user, password: password}, nil
	}
	if token, err := secret.Token(); err == nil {
		return credential{token: token}, nil
	}
	return credential{}, resilience.New(resilience.InvalidConfig,
		"the registry credentials hold neither username and password (basic) nor a token")
}
