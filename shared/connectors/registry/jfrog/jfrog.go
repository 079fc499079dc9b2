// Package jfrog is the JFrog Artifactory provider: image discovery on
// Artifactory's Docker catalog API (GET
// /artifactory/api/docker/{repoKey}/v2/_catalog, paged by n and last) with
// an access token as Bearer, tags on the registry API v2 through the OCI
// core (registry/oci), reached by the repository path or the subdomain
// access method, where the username and access token sign in as docker
// login does.
package jfrog

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/jfrog/spec"
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

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// catalogPage is the n of every catalog request, so a cursor's skip
	// stays valid whatever page size is asked.
	catalogPage = 100
	// maxListRequests bounds the upstream pages one Discover call reads
	// while a filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// Connector is the jfrog connector of one integration revision. It keeps
// no credential: each call resolves the token and drops it.
type Connector struct {
	base           *url.URL
	repoKey        string
	username       string
	subdomain      bool
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
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	registry := &url.URL{Scheme: base.Scheme, Host: base.Host}
	if raw := cfg.String("registryUrl"); raw != "" {
		if registry, err = kit.ParseBaseURL("registryUrl", raw); err != nil {
			return nil, err
		}
		registry.Path = "" // RegistryURL allows a trailing "/" only
	}
	c := &Connector{
		base: base, repoKey: cfg.String("repository"), username: cfg.String("username"),
		subdomain:      cfg.String("dockerAccess") == spec.AccessSubdomain,
		resolveDigests: cfg.Bool("resolveDigests"), resolveCreated: cfg.Bool("resolveCreated"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	if c.v2, err = oci.New(in, registry); err != nil {
		return nil, err
	}
	return c, nil
}

// Close releases nothing: the connector holds no state.
func (c *Connector) Close() error { return nil }

// token resolves the access token for one call: the bearer of the REST API
// and, with the username, the registry credential.
func (c *Connector) token(ctx context.Context) (kit.Auth, oci.Auth, error) {
	secret, err := kit.Resolve(ctx, c.credentials, c.credentialRef, "the Artifactory access token")
	if err != nil {
		return kit.Auth{}, oci.Auth{}, err
	}
	token, err := secret.Token()
	if err != nil {
		return kit.Auth{}, oci.Auth{}, resilience.New(resilience.InvalidConfig, "the jfrog credential must hold a token (an Artifactory access token)")
	}
	return kit.Bearer(token), oci.Auth{Username: c.username, Password: token}, nil
}

// image names an image of the repository as the registry API v2 does.
func (c *Connector) image(name string) string {
	if c.subdomain {
		return name
	}
	return c.repoKey + "/" + name
}

// CheckConnectivity pings Artifactory and the registry, without
// credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	if err := c.hc.ReachAPI(ctx, "reach Artifactory", kit.Request{URL: kit.Endpoint(c.base, "/artifactory/api/system/ping", nil), Accept: "text/plain"}); err != nil {
		return err
	}
	return c.v2.Ping(ctx)
}

// CheckAuthentication signs in to the registry with the username and token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	_, v2auth, err := c.token(ctx)
	if err != nil {
		return err
	}
	return c.v2.Authenticate(ctx, v2auth, "")
}

// CheckFunctionality lists one image of the repository.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	auth, _, err := c.token(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.catalog(ctx, auth, "", 1)
	return err
}

// catalog reads n images of the repository after last ("" first) and the
// last of the page when the catalog may go on ("" after the last page).
func (c *Connector) catalog(ctx context.Context, auth kit.Auth, last string, n int) ([]contracts.Resource, string, error) {
	query := url.Values{"n": {strconv.Itoa(n)}}
	if last != "" {
		query.Set("last", last)
	}
	var body struct {
		Repositories []string `json:"repositories"`
	}
	if _, err := c.hc.Call(ctx, "list the images of Artifactory repository "+c.repoKey, kit.Request{Auth: auth,
		URL: kit.Endpoint(c.base, "/artifactory/api/docker"+kit.Segments(c.repoKey)+"/v2/_catalog", query)}, &body); err != nil {
		return nil, "", err
	}
	out := make([]contracts.Resource, 0, len(body.Repositories))
	for _, name := range body.Repositories {
		full := c.image(name)
		out = append(out, contracts.Resource{Type: ResourceRepositories, Name: full, ID: full,
			Attributes: map[string]any{"artifactoryRepository": c.repoKey, "image": name}})
	}
	next := ""
	if len(body.Repositories) == n {
		next = body.Repositories[n-1]
	}
	return out, next, nil
}

// Discover implements connectors.Discoverer: images from the catalog API,
// tags from the registry API v2.
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
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests, StopOnEmpty: true}
	var items []contracts.Resource
	var next *kit.Position
	switch q.ResourceType {
	case ResourceRepositories:
		items, next, err = kit.Collect(ctx, collector, start, func(r contracts.Resource) bool { return filter.Keep(r.Name) },
			func(ctx context.Context, page string, _ int) ([]contracts.Resource, string, error) {
				return c.catalog(ctx, auth, page, catalogPage)
			})
	case ResourceTags:
		repo := q.Filter.Repository
		switch {
		case repo == "":
			return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "tags discovery needs filter.repository (an image of the repository)")
		case !c.subdomain && !strings.HasPrefix(repo, c.repoKey+"/"):
			repo = c.image(repo)
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
