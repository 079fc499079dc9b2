// Package quay is the Quay provider: repository discovery on Quay's API v1
// (/api/v1/repository?namespace=, paged by its opaque next_page token)
// with an OAuth API token as bearer, tags on the registry API v2 of the
// same host through the OCI core (registry/oci), where the token signs in
// as $oauthtoken.
package quay

import (
	"context"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci"
	"github.com/stella-ops/inthub/shared/connectors/registry/quay/spec"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID           = spec.ProviderID
	ResourceRepositories = spec.ResourceRepositories
	ResourceTags         = spec.ResourceTags
)

// OAuthUser is the registry username under which Quay accepts an OAuth
// API token as password.
const OAuthUser = "$oauthtoken"

// catalog is what oci.Vendor.Discover needs to know of Quay. Quay's pages
// have a size of its own: the cursor keeps its token and a skip into that
// page.
var catalog = oci.Catalog{ProviderID: ProviderID, ResourceRepositories: ResourceRepositories, ResourceTags: ResourceTags,
	RepositoryHint: "namespace/name"}

// Connector is the quay connector of one integration revision. It keeps no
// credential: each call resolves the token and drops it.
type Connector struct {
	oci.Vendor
	base      *url.URL
	namespace string
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ oci.Source            = (*Connector)(nil)
)

// New builds a connector from the integration's config; the registry is
// the API's host.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	base.Path = "" // RegistryURL allows a trailing "/" only
	c := &Connector{base: base, namespace: cfg.String("namespace")}
	if c.Vendor, err = oci.NewVendor(in, cfg, base, catalog); err != nil {
		return nil, err
	}
	return c, nil
}

// token resolves the API token for one call: the bearer of the API and the
// registry credential.
func (c *Connector) token(ctx context.Context) (kit.Auth, oci.Auth, error) {
	secret, err := c.Secret(ctx, "the Quay API token")
	if err != nil {
		return kit.Auth{}, oci.Auth{}, err
	}
	token, err := secret.Token()
	if err != nil {
		return kit.Auth{}, oci.Auth{}, resilience.New(resilience.InvalidConfig, "the Quay credential must hold a token (an OAuth API token)")
	}
	return kit.Bearer(token), oci.Auth{Username: OAuthUser, Password: token}, nil
}

// CheckConnectivity sends GET /v2/ without credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error { return c.V2.Ping(ctx) }

// CheckAuthentication signs in to the registry with the token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	return c.CheckRegistryAuth(ctx, c)
}

// CheckFunctionality reads the first page of the namespace's repositories.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	auth, _, err := c.token(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.repositories(ctx, auth, "")
	return err
}

// repository is an item of /api/v1/repository.
type repository struct {
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	IsPublic     bool   `json:"is_public"`
	Kind         string `json:"kind"`
	State        string `json:"state"`
	LastModified *int64 `json:"last_modified"` // seconds since the epoch
}

// repositories reads the page of the namespace's repositories at token
// ("" first) and the next page's token ("" after the last).
func (c *Connector) repositories(ctx context.Context, auth kit.Auth, page string) ([]contracts.Resource, string, error) {
	query := url.Values{"namespace": {c.namespace}, "last_modified": {"true"}}
	if page != "" {
		query.Set("next_page", page)
	}
	var body struct {
		Repositories []repository `json:"repositories"`
		NextPage     string       `json:"next_page"`
	}
	if _, err := c.HC.Call(ctx, "list the repositories of Quay namespace "+c.namespace,
		kit.Request{URL: kit.Endpoint(c.base, "/api/v1/repository", query), Auth: auth}, &body); err != nil {
		return nil, "", err
	}
	out := make([]contracts.Resource, 0, len(body.Repositories))
	for _, r := range body.Repositories {
		full := r.Namespace + "/" + r.Name
		attrs := map[string]any{"namespace": r.Namespace, "public": r.IsPublic}
		if r.Kind != "" {
			attrs["kind"] = r.Kind
		}
		if r.State != "" {
			attrs["state"] = r.State
		}
		if r.LastModified != nil {
			attrs["lastModified"] = *r.LastModified
		}
		out = append(out, contracts.Resource{Type: ResourceRepositories, Name: full, ID: full, Attributes: attrs})
	}
	return out, body.NextPage, nil
}

// Discover implements connectors.Discoverer: repositories from the API,
// tags from the registry API v2.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	return c.Vendor.Discover(ctx, q, c)
}

// RepositoryPages implements oci.Source: the namespace's repositories, to
// the end by next_page tokens.
func (c *Connector) RepositoryPages(ctx context.Context) (kit.FetchFunc[contracts.Resource], error) {
	auth, _, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, page string, _ int) ([]contracts.Resource, string, error) {
		return c.repositories(ctx, auth, page)
	}, nil
}

// TagRepository implements oci.Source: a name without a namespace is in
// the configured one.
func (c *Connector) TagRepository(repo string) string {
	if strings.Contains(repo, "/") {
		return repo
	}
	return c.namespace + "/" + repo
}

// RegistryAuth implements oci.Source: the token as $oauthtoken's password.
func (c *Connector) RegistryAuth(ctx context.Context) (oci.Auth, error) {
	_, auth, err := c.token(ctx)
	return auth, err
}
