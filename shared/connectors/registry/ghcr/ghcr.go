// Package ghcr is the GitHub Container Registry provider: repository
// discovery on GitHub's packages API (GET /orgs/{org}/packages or
// /users/{user}/packages with package_type=container, paged by the Link
// header), tags on the registry API v2 of ghcr.io through the OCI core
// (registry/oci). One personal access token serves both: as bearer of the
// API and as the registry password.
package ghcr

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/ghcr/spec"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci"
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

// APIVersion is the GitHub REST API version the connector was written
// against.
const APIVersion = "2022-11-28"

// perPage is the per_page of every request of a listing (GitHub's
// maximum), so a cursor's skip stays valid whatever page size is asked.
const perPage = "100"

// catalog is what oci.Vendor.Discover needs to know of ghcr.
var catalog = oci.Catalog{ProviderID: ProviderID, ResourceRepositories: ResourceRepositories, ResourceTags: ResourceTags,
	RepositoryHint: "owner/package"}

// Connector is the ghcr connector of one integration revision. It keeps no
// credential: each call resolves the token and drops it.
type Connector struct {
	oci.Vendor
	api       *url.URL
	owner     string
	ownerType string
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ oci.Source            = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	api, err := kit.ParseBaseURL("apiUrl", cfg.String("apiUrl"))
	if err != nil {
		return nil, err
	}
	registry, err := kit.ParseBaseURL("registryUrl", cfg.String("registryUrl"))
	if err != nil {
		return nil, err
	}
	c := &Connector{api: api, owner: cfg.String("owner"), ownerType: cfg.String("ownerType")}
	if c.Vendor, err = oci.NewVendor(in, cfg, registry, catalog); err != nil {
		return nil, err
	}
	return c, nil
}

// token resolves the personal access token for one call: the bearer of the
// API and the registry credential (ghcr.io takes any username with a PAT;
// the owner is sent, as docker login -u OWNER does).
func (c *Connector) token(ctx context.Context) (kit.Auth, oci.Auth, error) {
	secret, err := c.Secret(ctx, "the GitHub personal access token")
	if err != nil {
		return kit.Auth{}, oci.Auth{}, err
	}
	token, err := secret.Token()
	if err != nil || strings.ContainsAny(token, " \t\r\n") {
		return kit.Auth{}, oci.Auth{}, resilience.New(resilience.InvalidConfig,
			"the ghcr credential must hold a token (a GitHub personal access token with read:packages)")
	}
	return kit.Bearer(token), oci.Auth{Username: c.owner, Password: token}, nil
}

// namespace is the owner as ghcr.io names images: lowercase.
func (c *Connector) namespace() string { return strings.ToLower(c.owner) }

// CheckConnectivity sends GET /v2/ to the registry and reads the API root,
// both without credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	if err := c.V2.Ping(ctx); err != nil {
		return err
	}
	return c.HC.ReachAPI(ctx, "reach the GitHub API", c.request(kit.Endpoint(c.api, "/", nil), kit.Auth{}))
}

// CheckAuthentication signs in to the registry with the token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	return c.CheckRegistryAuth(ctx, c)
}

// CheckFunctionality lists one container package of the owner.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	auth, _, err := c.token(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.packages(ctx, auth, url.Values{"package_type": {"container"}, "per_page": {"1"}})
	return err
}

// request is a GitHub API call with the headers GitHub's reference asks for.
func (c *Connector) request(u string, auth kit.Auth) kit.Request {
	return kit.Request{URL: u, Auth: auth, Accept: "application/vnd.github+json",
		Header: http.Header{"X-Github-Api-Version": {APIVersion}}}
}

// pkg is an item of the packages API.
type pkg struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	PackageType  string    `json:"package_type"`
	VersionCount int       `json:"version_count"`
	Visibility   string    `json:"visibility"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	Repository   *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// packages reads one page of the owner's packages at query, and the
// headers (for the Link to the next page).
func (c *Connector) packages(ctx context.Context, auth kit.Auth, query url.Values) ([]contracts.Resource, http.Header, error) {
	route := "orgs"
	if c.ownerType == spec.OwnerUser {
		route = "users"
	}
	var body []pkg
	resp, err := c.HC.Call(ctx, "list the container packages of GitHub "+c.ownerType+" "+c.owner,
		c.request(kit.Endpoint(c.api, kit.Segments(route, c.owner, "packages"), query), auth), &body)
	if err != nil {
		return nil, nil, err
	}
	ns := c.namespace()
	out := make([]contracts.Resource, 0, len(body))
	for _, p := range body {
		full := ns + "/" + strings.ToLower(p.Name)
		attrs := map[string]any{"owner": c.owner, "packageId": p.ID, "visibility": p.Visibility, "versionCount": p.VersionCount}
		if !p.UpdatedAt.IsZero() {
			attrs["updatedAt"] = p.UpdatedAt.UTC()
		}
		if p.Repository != nil && p.Repository.FullName != "" {
			attrs["sourceRepository"] = p.Repository.FullName
		}
		out = append(out, contracts.Resource{Type: ResourceRepositories, Name: full, ID: full, Attributes: attrs})
	}
	return out, resp.Header, nil
}

// Discover implements connectors.Discoverer: repositories from the
// packages API, tags from the registry API v2.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	return c.Vendor.Discover(ctx, q, c)
}

// RepositoryPages implements oci.Source: the owner's container packages,
// to the end by the Link header.
func (c *Connector) RepositoryPages(ctx context.Context) (kit.FetchFunc[contracts.Resource], error) {
	auth, _, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	return kit.QueryPages(url.Values{"package_type": {"container"}}, url.Values{"per_page": {perPage}},
		func(ctx context.Context, query url.Values) ([]contracts.Resource, http.Header, error) {
			return c.packages(ctx, auth, query)
		}, kit.LinkNext), nil
}

// TagRepository implements oci.Source: a package is named in full
// (owner/package) or relative to the owner.
func (c *Connector) TagRepository(repo string) string {
	if strings.HasPrefix(repo, c.namespace()+"/") {
		return repo
	}
	return c.namespace() + "/" + repo
}

// RegistryAuth implements oci.Source: the PAT as the owner's password.
func (c *Connector) RegistryAuth(ctx context.Context) (oci.Auth, error) {
	_, auth, err := c.token(ctx)
	return auth, err
}
