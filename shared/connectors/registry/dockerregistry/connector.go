package dockerregistry

import (
	"context"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the docker-registry connector of one integration revision:
// the OCI core's vendor with the registry's own catalog as its repository
// listing. It keeps no credential: each call resolves them and drops them
// when done; only the registry-issued bearer tokens are cached (by the
// core), until they expire.
type Connector struct {
	oci.Vendor
	anonymous bool // no credential reference: anonymous access
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ oci.Source            = (*Connector)(nil)
)

func validRepository(name string) bool {
	return len(name) <= maxRepositoryLength && repositoryName.MatchString(name)
}

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	repo := cfg.String("repository")
	if repo != "" && !validRepository(repo) {
		return nil, resilience.New(resilience.InvalidConfig,
			"config field \"repository\" is not a repository name (lowercase path components like myorg/myapp)")
	}
	// A path (a registry behind a prefix) is kept.
	catalog := oci.Catalog{ProviderID: ProviderID, ResourceRepositories: ResourceRepositories, ResourceTags: ResourceTags,
		RepositoryHint: "or the integration's repository field", DefaultRepository: repo, PathPrefix: true}
	c := &Connector{anonymous: in.Integration.CredentialRef == ""}
	if c.Vendor, err = oci.NewVendor(in, cfg, base, catalog); err != nil {
		return nil, err
	}
	return c, nil
}

// CheckConnectivity sends GET /v2/ without credentials: any answer of the
// API, a 401 challenge included, proves the registry is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.V2.Ping(ctx)
}

// CheckAuthentication sends GET /v2/ through the auth flow with a token
// fetched now, never a cached one: it must prove the credentials today.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	auth, err := c.RegistryAuth(ctx)
	if err != nil {
		return err
	}
	return c.V2.Authenticate(ctx, auth, "")
}

// CheckFunctionality reads one catalog entry, the cheapest real operation.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	auth, err := c.RegistryAuth(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.V2.CatalogPage(ctx, auth, "", 1)
	return err
}

// Discover implements connectors.Discoverer: repositories from the
// catalog, tags of filter.repository (else the configured repository),
// both through the OCI core.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	return c.Vendor.Discover(ctx, q, c)
}

// RepositoryPages implements oci.Source: /v2/_catalog, one Link page a
// call.
func (c *Connector) RepositoryPages(ctx context.Context) (kit.FetchFunc[contracts.Resource], error) {
	auth, err := c.RegistryAuth(ctx)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, page string, want int) ([]contracts.Resource, string, error) {
		names, next, err := c.V2.CatalogPage(ctx, auth, page, want)
		if err != nil {
			return nil, "", err
		}
		items := make([]contracts.Resource, len(names))
		for i, n := range names {
			items[i] = contracts.Resource{Type: ResourceRepositories, Name: n, ID: n}
		}
		return items, next, nil
	}, nil
}

// TagRepository implements oci.Source: names are the registry's own.
func (c *Connector) TagRepository(repo string) string { return repo }

// RegistryAuth implements oci.Source: the integration's credential
// reference resolved for one call (username and password, or a token); no
// reference means anonymous access.
func (c *Connector) RegistryAuth(ctx context.Context) (oci.Auth, error) {
	if c.anonymous {
		return oci.Auth{}, nil
	}
	secret, err := c.Secret(ctx, "the registry credentials")
	if err != nil {
		return oci.Auth{}, err
	}
	if user, password, err := secret.Basic(); err == nil {
		return oci.Auth{Username: user, Password: password}, nil
	}
	if token, err := secret.Token(); err == nil {
		return oci.Auth{Token: token}, nil
	}
	return oci.Auth{}, resilience.New(resilience.InvalidConfig,
		"the registry credentials hold neither username and password (basic) nor a token")
}
