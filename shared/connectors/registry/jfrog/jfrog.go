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

// catalogPage is the n of every catalog request, so a cursor's skip stays
// valid whatever page size is asked.
const catalogPage = 100

// discovery is what oci.Vendor.Discover needs to know of Artifactory.
var discovery = oci.Catalog{ProviderID: ProviderID, ResourceRepositories: ResourceRepositories, ResourceTags: ResourceTags,
	RepositoryHint: "an image of the repository", StopOnEmpty: true}

// Connector is the jfrog connector of one integration revision. It keeps
// no credential: each call resolves the token and drops it.
type Connector struct {
	oci.Vendor
	base      *url.URL
	repoKey   string
	username  string
	subdomain bool
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ oci.Source            = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, registry, err := oci.BaseAndRegistry(cfg)
	if err != nil {
		return nil, err
	}
	c := &Connector{
		base: base, repoKey: cfg.String("repository"), username: cfg.String("username"),
		subdomain: cfg.String("dockerAccess") == spec.AccessSubdomain,
	}
	if c.Vendor, err = oci.NewVendor(in, cfg, registry, discovery); err != nil {
		return nil, err
	}
	return c, nil
}

// token resolves the access token for one call: the bearer of the REST API
// and, with the username, the registry credential.
func (c *Connector) token(ctx context.Context) (kit.Auth, oci.Auth, error) {
	secret, err := c.Secret(ctx, "the Artifactory access token")
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
	if err := c.HC.ReachAPI(ctx, "reach Artifactory", kit.Request{URL: kit.Endpoint(c.base, "/artifactory/api/system/ping", nil), Accept: "text/plain"}); err != nil {
		return err
	}
	return c.V2.Ping(ctx)
}

// CheckAuthentication signs in to the registry with the username and token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	return c.CheckRegistryAuth(ctx, c)
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
	if _, err := c.HC.Call(ctx, "list the images of Artifactory repository "+c.repoKey, kit.Request{Auth: auth,
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
	return c.Vendor.Discover(ctx, q, c)
}

// RepositoryPages implements oci.Source: the repository's images by n and
// last, to the end.
func (c *Connector) RepositoryPages(ctx context.Context) (kit.FetchFunc[contracts.Resource], error) {
	auth, _, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, page string, _ int) ([]contracts.Resource, string, error) {
		return c.catalog(ctx, auth, page, catalogPage)
	}, nil
}

// TagRepository implements oci.Source: with the repository path access
// method an image is named in full (repoKey/image) or by its own name.
func (c *Connector) TagRepository(repo string) string {
	if c.subdomain || strings.HasPrefix(repo, c.repoKey+"/") {
		return repo
	}
	return c.image(repo)
}

// RegistryAuth implements oci.Source: the username and access token.
func (c *Connector) RegistryAuth(ctx context.Context) (oci.Auth, error) {
	_, auth, err := c.token(ctx)
	return auth, err
}
