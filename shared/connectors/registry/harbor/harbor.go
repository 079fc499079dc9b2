// Package harbor is the Harbor provider: health checks and repository
// discovery on Harbor's API v2.0 (/api/v2.0/projects/{project}/repositories,
// page and page_size with a Link header), tags on the registry API v2 of the
// same host through the OCI core (registry/oci). Credentials are a robot
// account (basic: its name and secret), used for both.
package harbor

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/harbor/spec"
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
	// apiPageSize is Harbor's maximum page_size; every page of a listing
	// uses it, so a cursor's skip stays valid whatever page size is asked.
	apiPageSize = "100"
	// maxListRequests bounds the upstream pages one Discover call reads
	// while a filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// Connector is the harbor connector of one integration revision. It keeps
// no credential: each call resolves the robot account and drops it.
type Connector struct {
	base           *url.URL
	project        string
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
	c := &Connector{
		base: base, project: cfg.String("project"),
		resolveDigests: cfg.Bool("resolveDigests"), resolveCreated: cfg.Bool("resolveCreated"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	host := *base
	host.Path = ""
	if c.v2, err = oci.New(in, &host); err != nil {
		return nil, err
	}
	return c, nil
}

// Close releases nothing: the connector holds no state.
func (c *Connector) Close() error { return nil }

// robot resolves the robot account for one call.
func (c *Connector) robot(ctx context.Context) (kit.Auth, oci.Auth, error) {
	secret, err := kit.Resolve(ctx, c.credentials, c.credentialRef, "the Harbor robot account")
	if err != nil {
		return kit.Auth{}, oci.Auth{}, err
	}
	user, password, err := secret.Basic()
	if err != nil {
		return kit.Auth{}, oci.Auth{}, resilience.New(resilience.InvalidConfig,
			"the Harbor robot account must hold a username (robot$...) and password (its secret)")
	}
	return kit.Basic(user, password), oci.Auth{Username: user, Password: password}, nil
}

// api is the URL of an API path (escaped) under /api/v2.0.
func (c *Connector) api(path string, query url.Values) string {
	return kit.Endpoint(c.base, "/api/v2.0"+path, query)
}

// CheckConnectivity sends GET /api/v2.0/ping without credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach Harbor", kit.Request{URL: c.api("/ping", nil), Accept: "text/plain"})
}

// CheckAuthentication reads the project with the robot account.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	auth, _, err := c.robot(ctx)
	if err != nil {
		return err
	}
	_, err = c.hc.Call(ctx, "read the Harbor project "+c.project,
		kit.Request{URL: c.api(kit.Segments("projects", c.project), nil), Auth: auth}, nil)
	return err
}

// CheckFunctionality lists one repository of the project.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	auth, _, err := c.robot(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.repositories(ctx, auth, url.Values{"page": {"1"}, "page_size": {"1"}})
	return err
}

// repository is an item of /projects/{project}/repositories.
type repository struct {
	Name          string `json:"name"` // project/repo
	ArtifactCount int64  `json:"artifact_count"`
	PullCount     int64  `json:"pull_count"`
	UpdateTime    string `json:"update_time"`
	CreationTime  string `json:"creation_time"`
}

// repositories reads one page of the project's repositories.
func (c *Connector) repositories(ctx context.Context, auth kit.Auth, query url.Values) ([]contracts.Resource, http.Header, error) {
	var page []repository
	resp, err := c.hc.Call(ctx, "list the repositories of Harbor project "+c.project,
		kit.Request{URL: c.api(kit.Segments("projects", c.project, "repositories"), query), Auth: auth}, &page)
	if err != nil {
		return nil, nil, err
	}
	out := make([]contracts.Resource, 0, len(page))
	for _, r := range page {
		attrs := map[string]any{"project": c.project, "artifactCount": r.ArtifactCount, "pullCount": r.PullCount}
		if r.UpdateTime != "" {
			attrs["updated"] = r.UpdateTime
		}
		out = append(out, contracts.Resource{Type: ResourceRepositories, Name: r.Name, ID: r.Name, Attributes: attrs})
	}
	return out, resp.Header, nil
}

// Discover implements connectors.Discoverer: repositories from the API,
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
	auth, v2auth, err := c.robot(ctx)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	var items []contracts.Resource
	var next *kit.Position
	switch q.ResourceType {
	case ResourceRepositories:
		collector.StopOnEmpty = true
		items, next, err = kit.Collect(ctx, collector, start, func(r contracts.Resource) bool { return filter.Keep(r.Name) },
			kit.QueryPages(url.Values{"page": {"1"}}, url.Values{"page_size": {apiPageSize}},
				func(ctx context.Context, query url.Values) ([]contracts.Resource, http.Header, error) {
					return c.repositories(ctx, auth, query)
				}, kit.LinkNext))
	case ResourceTags:
		items, next, err = c.tags(ctx, v2auth, q, filter, collector, start)
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

// tags reads a page of the repository's tags over v2; a repository is
// named in full (project/repo) or relative to the project.
func (c *Connector) tags(ctx context.Context, auth oci.Auth, q connectors.DiscoveryQuery, filter *discoveryfilter.Filter,
	collector kit.Collector, start kit.Position) ([]contracts.Resource, *kit.Position, error) {
	repo := q.Filter.Repository
	switch {
	case repo == "":
		return nil, nil, resilience.New(resilience.InvalidConfig, "tags discovery needs filter.repository (project/name)")
	case !strings.HasPrefix(repo, c.project+"/"):
		repo = c.project + "/" + repo
	}
	return c.v2.DiscoverTags(ctx, auth, oci.TagQuery{ResourceType: ResourceTags, Repository: repo, Keep: filter.Keep,
		Collector: collector, Start: start, Digests: c.resolveDigests, Created: c.resolveCreated})
}
