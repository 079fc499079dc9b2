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

// apiPageSize is Harbor's maximum page_size; every page of a listing uses
// it, so a cursor's skip stays valid whatever page size is asked.
const apiPageSize = "100"

// catalog is what oci.Vendor.Discover needs to know of Harbor.
var catalog = oci.Catalog{ProviderID: ProviderID, ResourceRepositories: ResourceRepositories, ResourceTags: ResourceTags,
	RepositoryHint: "project/name", StopOnEmpty: true}

// Connector is the harbor connector of one integration revision. It keeps
// no credential: each call resolves the robot account and drops it.
type Connector struct {
	oci.Vendor
	base    *url.URL
	project string
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
	c := &Connector{base: base, project: cfg.String("project")}
	if c.Vendor, err = oci.NewVendor(in, cfg, base, catalog); err != nil {
		return nil, err
	}
	return c, nil
}

// robot resolves the robot account for one call.
func (c *Connector) robot(ctx context.Context) (kit.Auth, oci.Auth, error) {
	return c.Basic(ctx, "the Harbor robot account", "the Harbor robot account must hold a username (robot$...) and password (its secret)")
}

// api is the URL of an API path (escaped) under /api/v2.0.
func (c *Connector) api(path string, query url.Values) string {
	return kit.Endpoint(c.base, "/api/v2.0"+path, query)
}

// CheckConnectivity sends GET /api/v2.0/ping without credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.HC.ReachAPI(ctx, "reach Harbor", kit.Request{URL: c.api("/ping", nil), Accept: "text/plain"})
}

// CheckAuthentication reads the project with the robot account.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	auth, _, err := c.robot(ctx)
	if err != nil {
		return err
	}
	_, err = c.HC.Call(ctx, "read the Harbor project "+c.project,
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
	resp, err := c.HC.Call(ctx, "list the repositories of Harbor project "+c.project,
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
	return c.Vendor.Discover(ctx, q, c)
}

// RepositoryPages implements oci.Source: the project's repositories by
// page and page_size, to the end by the Link header.
func (c *Connector) RepositoryPages(ctx context.Context) (kit.FetchFunc[contracts.Resource], error) {
	auth, _, err := c.robot(ctx)
	if err != nil {
		return nil, err
	}
	return kit.QueryPages(url.Values{"page": {"1"}}, url.Values{"page_size": {apiPageSize}},
		func(ctx context.Context, query url.Values) ([]contracts.Resource, http.Header, error) {
			return c.repositories(ctx, auth, query)
		}, kit.LinkNext), nil
}

// TagRepository implements oci.Source: a repository is named in full
// (project/repo) or relative to the project.
func (c *Connector) TagRepository(repo string) string {
	if strings.HasPrefix(repo, c.project+"/") {
		return repo
	}
	return c.project + "/" + repo
}

// RegistryAuth implements oci.Source: the robot account.
func (c *Connector) RegistryAuth(ctx context.Context) (oci.Auth, error) {
	_, auth, err := c.robot(ctx)
	return auth, err
}
