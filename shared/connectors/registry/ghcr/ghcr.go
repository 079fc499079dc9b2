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
	"github.com/stella-ops/inthub/shared/discoveryfilter"
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

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// perPage is the per_page of every request of a listing (GitHub's
	// maximum), so a cursor's skip stays valid whatever page size is asked.
	perPage = "100"
	// maxListRequests bounds the upstream pages one Discover call reads
	// while a filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// Connector is the ghcr connector of one integration revision. It keeps no
// credential: each call resolves the token and drops it.
type Connector struct {
	api            *url.URL
	owner          string
	ownerType      string
	resolveDigests bool
	resolveCreated bool
	credentialRef  string
	credentials    connectors.CredentialSource
	hc             kit.Client
	v2             *oci.Registry
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
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
	c := &Connector{
		api: api, owner: cfg.String("owner"), ownerType: cfg.String("ownerType"),
		resolveDigests: cfg.Bool("resolveDigests"), resolveCreated: cfg.Bool("resolveCreated"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	registry.Path = "" // RegistryURL allows a trailing "/" only
	if c.v2, err = oci.New(in, registry); err != nil {
		return nil, err
	}
	return c, nil
}

// Close releases nothing: the connector holds no state.
func (c *Connector) Close() error { return nil }

// token resolves the personal access token for one call: the bearer of the
// API and the registry credential (ghcr.io takes any username with a PAT;
// the owner is sent, as docker login -u OWNER does).
func (c *Connector) token(ctx context.Context) (kit.Auth, oci.Auth, error) {
	secret, err := kit.Resolve(ctx, c.credentials, c.credentialRef, "the GitHub personal access token")
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
	if err := c.v2.Ping(ctx); err != nil {
		return err
	}
	return c.hc.ReachAPI(ctx, "reach the GitHub API", c.request(kit.Endpoint(c.api, "/", nil), kit.Auth{}))
}

// CheckAuthentication signs in to the registry with the token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	_, v2auth, err := c.token(ctx)
	if err != nil {
		return err
	}
	return c.v2.Authenticate(ctx, v2auth, "")
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
	resp, err := c.hc.Call(ctx, "list the container packages of GitHub "+c.ownerType+" "+c.owner,
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
	filter, err := discoveryfilter.Parse(q.Filter)
	if err != nil {
		return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "%s", err.Error())
	}
	start, err := kit.DecodeCursor(q.Cursor, kit.Position.Valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	auth, v2auth, err := c.token(ctx)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	var items []contracts.Resource
	var next *kit.Position
	switch q.ResourceType {
	case ResourceRepositories:
		items, next, err = kit.Collect(ctx, collector, start, func(r contracts.Resource) bool { return filter.Keep(r.Name) },
			kit.QueryPages(url.Values{"package_type": {"container"}}, url.Values{"per_page": {perPage}},
				func(ctx context.Context, query url.Values) ([]contracts.Resource, http.Header, error) {
					return c.packages(ctx, auth, query)
				}, kit.LinkNext))
	case ResourceTags:
		repo := q.Filter.Repository
		switch {
		case repo == "":
			return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "tags discovery needs filter.repository (owner/package)")
		case !strings.HasPrefix(repo, c.namespace()+"/"):
			repo = c.namespace() + "/" + repo
		}
		items, next, err = c.v2.DiscoverTags(ctx, v2auth, oci.TagQuery{ResourceType: ResourceTags, Repository: repo, Keep: filter.Keep,
			Collector: collector, Start: start, Digests: c.resolveDigests, Created: c.resolveCreated})
	default:
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
			"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourceRepositories, ResourceTags)
	}
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: items}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(*next)
	}
	return page, nil
}
