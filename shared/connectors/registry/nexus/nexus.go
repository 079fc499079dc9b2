// Package nexus is the Sonatype Nexus Repository 3 provider: image
// discovery on the components REST API (GET
// /service/rest/v1/components?repository=, paged by continuationToken)
// with basic auth (a user's password or a user token), tags on the
// registry API v2 through the OCI core (registry/oci), reached by
// path-based routing or a port or subdomain connector, where the same
// credential signs in as docker login does.
//
// Nexus has a component per image version, in no documented order, so one
// image appears on many pages: discovery reads the component listing to
// its end, keeps each image name once (memory grows with images, not
// versions) and pages over the sorted names.
package nexus

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/nexus/spec"
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

// namesPage is the number of image names one call of the listing returns,
// so a cursor's skip stays valid whatever page size is asked.
const namesPage = 100

// dockerFormat is the format of the components of a docker repository.
const dockerFormat = "docker"

// catalog is what oci.Vendor.Discover needs to know of Nexus.
var catalog = oci.Catalog{ProviderID: ProviderID, ResourceRepositories: ResourceRepositories, ResourceTags: ResourceTags,
	RepositoryHint: "an image of the repository"}

// Connector is the nexus connector of one integration revision. It keeps
// no credential: each call resolves the username and password and drops
// them.
type Connector struct {
	oci.Vendor
	base       *url.URL
	repository string
	connector  bool
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ oci.Source            = (*Connector)(nil)
)

// New builds a connector from the integration's config; the registry is
// the host of url unless registryUrl names the docker connector.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, registry, err := oci.BaseAndRegistry(cfg)
	if err != nil {
		return nil, err
	}
	c := &Connector{base: base, repository: cfg.String("repository"), connector: cfg.String("routing") == spec.RoutingConnector}
	if c.Vendor, err = oci.NewVendor(in, cfg, registry, catalog); err != nil {
		return nil, err
	}
	return c, nil
}

// credential resolves the username and password (or user token name and
// pass code) for one call: basic auth of the REST API and the registry
// credential.
func (c *Connector) credential(ctx context.Context) (kit.Auth, oci.Auth, error) {
	return c.Basic(ctx, "the Nexus credential", "the nexus credential must hold a username and password (or a user token's name and pass code)")
}

// image names an image of the repository as the registry API v2 does.
func (c *Connector) image(name string) string {
	if c.connector {
		return name
	}
	return c.repository + "/" + name
}

// CheckConnectivity reads Nexus's status and pings the registry, without
// credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	if err := c.HC.ReachAPI(ctx, "reach Nexus", kit.Request{URL: kit.Endpoint(c.base, "/service/rest/v1/status", nil)}); err != nil {
		return err
	}
	return c.V2.Ping(ctx)
}

// CheckAuthentication signs in to the registry with the credential. Nexus's
// own /service/rest/v1/status/check needs the nx-metrics-all privilege,
// which a discovery account has no reason to hold; the registry sign-in
// proves the same credential with the privileges discovery uses.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	return c.CheckRegistryAuth(ctx, c)
}

// CheckFunctionality reads the first page of the repository's components.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	auth, _, err := c.credential(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.components(ctx, auth, "")
	return err
}

// component is an item of /service/rest/v1/components: one version of an
// image in a docker repository.
type component struct {
	Repository string `json:"repository"`
	Format     string `json:"format"`
	Name       string `json:"name"`
	Version    string `json:"version"`
}

// components reads the page of the repository's components at token (""
// first) and the next page's token ("" after the last).
func (c *Connector) components(ctx context.Context, auth kit.Auth, token string) ([]component, string, error) {
	query := url.Values{"repository": {c.repository}}
	if token != "" {
		query.Set("continuationToken", token)
	}
	var body struct {
		Items             []component `json:"items"`
		ContinuationToken *string     `json:"continuationToken"`
	}
	if _, err := c.HC.Call(ctx, "list the components of Nexus repository "+c.repository,
		kit.Request{URL: kit.Endpoint(c.base, "/service/rest/v1/components", query), Auth: auth}, &body); err != nil {
		return nil, "", err
	}
	for _, it := range body.Items {
		if it.Format != dockerFormat {
			return nil, "", resilience.New(resilience.InvalidConfig, "Nexus repository %s holds %s components, not docker images", c.repository, it.Format)
		}
	}
	next := ""
	if body.ContinuationToken != nil {
		next = *body.ContinuationToken
	}
	return body.Items, next, nil
}

// images reads the repository's components to the end: each image name
// once, sorted, with its number of versions.
func (c *Connector) images(ctx context.Context, auth kit.Auth) ([]string, map[string]int, error) {
	versions := map[string]int{}
	token := ""
	for {
		items, next, err := c.components(ctx, auth, token)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range items {
			versions[it.Name]++
		}
		if next == "" {
			break
		}
		if next == token {
			return nil, nil, resilience.New(resilience.UpstreamError, "Nexus repeated continuation token on repository %s", c.repository)
		}
		token = next
	}
	names := make([]string, 0, len(versions))
	for name := range versions {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, versions, nil
}

// Discover implements connectors.Discoverer: images from the components
// API, tags from the registry API v2.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	return c.Vendor.Discover(ctx, q, c)
}

// RepositoryPages implements oci.Source: the repository's images, each
// once, in pages after the last name of the previous one. The component
// listing is read once a call, on the first page asked.
func (c *Connector) RepositoryPages(ctx context.Context) (kit.FetchFunc[contracts.Resource], error) {
	auth, _, err := c.credential(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	var versions map[string]int
	return func(ctx context.Context, last string, _ int) ([]contracts.Resource, string, error) {
		if versions == nil {
			if names, versions, err = c.images(ctx, auth); err != nil {
				return nil, "", err
			}
		}
		start, found := slices.BinarySearch(names, last)
		if found {
			start++
		}
		end := min(start+namesPage, len(names))
		out := make([]contracts.Resource, 0, end-start)
		for _, name := range names[start:end] {
			full := c.image(name)
			out = append(out, contracts.Resource{Type: ResourceRepositories, Name: full, ID: full,
				Attributes: map[string]any{"nexusRepository": c.repository, "image": name, "versions": versions[name]}})
		}
		next := ""
		if end < len(names) {
			next = names[end-1]
		}
		return out, next, nil
	}, nil
}

// TagRepository implements oci.Source: with path-based routing an image
// is named in full (repository/image) or by its own name.
func (c *Connector) TagRepository(repo string) string {
	if c.connector || strings.HasPrefix(repo, c.repository+"/") {
		return repo
	}
	return c.image(repo)
}

// RegistryAuth implements oci.Source: the username and password.
func (c *Connector) RegistryAuth(ctx context.Context) (oci.Auth, error) {
	_, auth, err := c.credential(ctx)
	return auth, err
}
