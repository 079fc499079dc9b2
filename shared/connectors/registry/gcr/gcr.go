// Package gcr is the Google Artifact Registry provider (Container Registry
// runs on it): the images of a Docker repository from the Artifact
// Registry API (packages.list, paged by pageToken), tags on the registry
// API v2 through the OCI core (registry/oci). Both authenticate with an
// OAuth2 access token from a service-account key (gcpauth, as the GCP
// secret store does): a Bearer on the API, the password of user
// oauth2accesstoken on the registry.
package gcr

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/gcpauth"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/gcr/spec"
	"github.com/stella-ops/inthub/shared/connectors/registry/oci"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
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

// Scope is what the token is asked for (read-only would do for the
// registry; the API's packages.list needs cloud-platform or its read-only
// variant, and one token serves both).
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// OAuthUser is the registry username under which Google accepts an access
// token as password.
const OAuthUser = "oauth2accesstoken"

const (
	defaultPageSize = 100
	// maxPageSize is packages.list's largest pageSize.
	maxPageSize = 1000
	// maxListRequests bounds the upstream pages one Discover call reads
	// while a filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// Connector is the gcr connector of one integration revision. It keeps the
// access token (not the key) until it expires.
type Connector struct {
	endpoint       string
	parent         string // projects/<p>/locations/<l>/repositories/<r>
	prefix         string // <p>/<r>: the v2 path of the repository's images
	resolveDigests bool
	resolveCreated bool
	tokens         *gcpauth.Tokens
	v2             *oci.Registry
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	project, location, repo := cfg.String("project"), cfg.String("location"), cfg.String("repository")
	if !spec.Location.MatchString(location) || !spec.RepositoryID.MatchString(repo) || strings.ContainsAny(project, "/?#") {
		return nil, resilience.New(resilience.InvalidConfig, "config fields project, location and repository must be Artifact Registry names")
	}
	ref := in.Integration.CredentialRef
	if ref == "" {
		return nil, resilience.New(resilience.InvalidConfig, "credentialRef is required: a reference to a service-account key")
	}
	c := &Connector{parent: "projects/" + project + "/locations/" + location + "/repositories/" + repo, prefix: project + "/" + repo,
		resolveDigests: cfg.Bool("resolveDigests"), resolveCreated: cfg.Bool("resolveCreated")}
	var err error
	if c.endpoint, err = gcpauth.CheckURL("url", cfg.String("url")); err != nil {
		return nil, err
	}
	tokenURL := cfg.String("tokenUrl")
	if tokenURL != "" {
		if tokenURL, err = gcpauth.CheckURL("tokenUrl", tokenURL); err != nil {
			return nil, err
		}
	}
	registry := cfg.String("registryUrl")
	if registry == "" {
		registry = "https://" + location + "-docker.pkg.dev"
	}
	base, err := kit.ParseBaseURL("registryUrl", registry)
	if err != nil {
		return nil, err
	}
	base.Path = "" // RegistryURL allows a trailing "/" only
	if c.v2, err = oci.New(in, base); err != nil {
		return nil, err
	}
	hc, err := kit.NewClient(in)
	if err != nil {
		return nil, err
	}
	c.tokens = &gcpauth.Tokens{TokenURL: tokenURL, Scopes: []string{Scope}, HTTP: hc,
		Key: func(ctx context.Context) (credentials.Secret, error) {
			return kit.Resolve(ctx, in.Credentials, ref, "the service-account key")
		}}
	return c, nil
}

// Close forgets the access token.
func (c *Connector) Close() error {
	c.tokens.Forget()
	return nil
}

// registryAuth is the registry credential of one call.
func (c *Connector) registryAuth(ctx context.Context, fresh bool) (oci.Auth, error) {
	token, err := c.tokens.Token(ctx, fresh)
	if err != nil {
		return oci.Auth{}, err
	}
	return oci.Auth{Username: OAuthUser, Password: token}, nil
}

// CheckConnectivity sends GET /v2/ without credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error { return c.v2.Ping(ctx) }

// CheckAuthentication exchanges the key for a new access token and signs in
// to the registry with it.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	auth, err := c.registryAuth(ctx, true)
	if err != nil {
		return err
	}
	return c.v2.Authenticate(ctx, auth, "")
}

// CheckFunctionality reads the first package of the repository.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	_, _, err := c.packages(ctx, "", 1)
	return err
}

// packages reads one packages.list page of up to n at token ("" first) and
// the next page's token ("" after the last). A package is an image; its
// name ends in the URL-escaped image path.
func (c *Connector) packages(ctx context.Context, token string, n int) ([]contracts.Resource, string, error) {
	query := url.Values{"pageSize": {strconv.Itoa(min(max(n, 1), maxPageSize))}}
	if token != "" {
		query.Set("pageToken", token)
	}
	var body struct {
		Packages []struct {
			Name       string `json:"name"`
			CreateTime string `json:"createTime"`
			UpdateTime string `json:"updateTime"`
		} `json:"packages"`
		NextPageToken string `json:"nextPageToken"`
	}
	if err := c.tokens.Get(ctx, "list the images of "+c.parent, c.endpoint, "/v1/"+c.parent+"/packages", query, &body); err != nil {
		return nil, "", err
	}
	items := make([]contracts.Resource, 0, len(body.Packages))
	for _, p := range body.Packages {
		escaped := p.Name[strings.LastIndex(p.Name, "/")+1:]
		image, err := url.PathUnescape(escaped)
		if err != nil || image == "" {
			return nil, "", resilience.New(resilience.UpstreamError, "list the images of %s: package name %q", c.parent, p.Name)
		}
		attrs := map[string]any{"package": p.Name, "path": c.prefix + "/" + image}
		if p.CreateTime != "" {
			attrs["createTime"] = p.CreateTime
		}
		if p.UpdateTime != "" {
			attrs["updateTime"] = p.UpdateTime
		}
		items = append(items, contracts.Resource{Type: ResourceRepositories, Name: image, ID: c.v2.Host() + "/" + c.prefix + "/" + image, Attributes: attrs})
	}
	return items, body.NextPageToken, nil
}

// Discover implements connectors.Discoverer: images from the Artifact
// Registry API, tags from the registry API v2.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	filter, err := discoveryfilter.Parse(q.Filter)
	if err != nil {
		return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "%s", err.Error())
	}
	start, err := kit.DecodeCursor(q.Cursor, kit.Position.Valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	var items []contracts.Resource
	var next *kit.Position
	switch q.ResourceType {
	case ResourceRepositories:
		items, next, err = kit.Collect(ctx, collector, start, func(r contracts.Resource) bool { return filter.Keep(r.Name) }, c.packages)
	case ResourceTags:
		image := q.Filter.Repository
		if image == "" {
			return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "tags discovery needs filter.repository (an image of the repository)")
		}
		auth, aerr := c.registryAuth(ctx, false)
		if aerr != nil {
			return connectors.DiscoveryPage{}, aerr
		}
		items, next, err = c.v2.DiscoverTags(ctx, auth, oci.TagQuery{ResourceType: ResourceTags, Repository: c.prefix + "/" + image, Keep: filter.Keep,
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
