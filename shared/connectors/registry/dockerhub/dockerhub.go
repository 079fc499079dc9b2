// Package dockerhub is the Docker Hub provider: health checks and repository
// discovery on the Docker Hub API (an access token from POST /v2/auth/token,
// then /v2/namespaces/{namespace}/repositories with page and page_size,
// following the body's next link), tags on the registry API v2 of
// registry-1.docker.io through the OCI core (registry/oci). Credentials are
// a username and personal access token (basic), used for both.
package dockerhub

import (
	"context"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerhub/spec"
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

// apiPageSize is the page_size of every request of a listing, so a
// cursor's skip stays valid whatever page size is asked (the API takes up
// to 1000; 100 keeps each answer small).
const apiPageSize = "100"

// catalog is what oci.Vendor.Discover needs to know of Docker Hub.
var catalog = oci.Catalog{ProviderID: ProviderID, ResourceRepositories: ResourceRepositories, ResourceTags: ResourceTags,
	RepositoryHint: "namespace/name", StopOnEmpty: true}

// Connector is the docker-hub connector of one integration revision. It
// keeps no credential: each call resolves the token and drops it.
type Connector struct {
	oci.Vendor
	hub       *url.URL
	namespace string
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ oci.Source            = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	hub, err := kit.ParseBaseURL("hubUrl", cfg.String("hubUrl"))
	if err != nil {
		return nil, err
	}
	registry, err := kit.ParseBaseURL("registryUrl", cfg.String("registryUrl"))
	if err != nil {
		return nil, err
	}
	c := &Connector{hub: hub, namespace: cfg.String("namespace")}
	if c.Vendor, err = oci.NewVendor(in, cfg, registry, catalog); err != nil {
		return nil, err
	}
	return c, nil
}

// account resolves the username and personal access token for one call.
func (c *Connector) account(ctx context.Context) (oci.Auth, error) {
	secret, err := c.Secret(ctx, "the Docker Hub account")
	if err != nil {
		return oci.Auth{}, err
	}
	user, pat, err := secret.Basic()
	if err != nil {
		return oci.Auth{}, resilience.New(resilience.InvalidConfig,
			"the Docker Hub credential must hold a username and password (a personal access token)")
	}
	return oci.Auth{Username: user, Password: pat}, nil
}

// login exchanges the account for a short-lived access token of the Docker
// Hub API (POST /v2/auth/token).
func (c *Connector) login(ctx context.Context, account oci.Auth) (kit.Auth, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	_, err := c.HC.Call(ctx, "sign in to Docker Hub", kit.Request{Method: "POST", URL: kit.Endpoint(c.hub, "/v2/auth/token", nil),
		JSON: map[string]string{"identifier": account.Username, "secret": account.Password}}, &out)
	if err != nil {
		return kit.Auth{}, err
	}
	if out.AccessToken == "" {
		return kit.Auth{}, resilience.New(resilience.UpstreamError, "sign in to Docker Hub: the answer holds no access_token")
	}
	return kit.Bearer(out.AccessToken), nil
}

// signIn resolves the account and exchanges it: the API token and the
// registry credential of one call.
func (c *Connector) signIn(ctx context.Context) (kit.Auth, oci.Auth, error) {
	account, err := c.account(ctx)
	if err != nil {
		return kit.Auth{}, oci.Auth{}, err
	}
	token, err := c.login(ctx, account)
	return token, account, err
}

// CheckConnectivity sends GET /v2/ to the registry and reads one page of
// the namespace's public repositories, both without credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	if err := c.V2.Ping(ctx); err != nil {
		return err
	}
	return c.HC.ReachAPI(ctx, "reach Docker Hub", kit.Request{URL: c.listURL(url.Values{"page": {"1"}, "page_size": {"1"}})})
}

// CheckAuthentication signs in to the API and authenticates to the
// registry with the account.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	_, account, err := c.signIn(ctx)
	if err != nil {
		return err
	}
	return c.V2.Authenticate(ctx, account, "")
}

// CheckFunctionality lists one repository of the namespace.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	token, _, err := c.signIn(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.repositories(ctx, token, url.Values{"page": {"1"}, "page_size": {"1"}})
	return err
}

// listURL is the repository listing of the namespace.
func (c *Connector) listURL(query url.Values) string {
	return kit.Endpoint(c.hub, kit.Segments("v2", "namespaces", c.namespace, "repositories"), query)
}

// repository is an item of /v2/namespaces/{namespace}/repositories.
type repository struct {
	Name           string `json:"name"`
	Namespace      string `json:"namespace"`
	RepositoryType string `json:"repository_type"`
	IsPrivate      bool   `json:"is_private"`
	PullCount      int64  `json:"pull_count"`
	StarCount      int64  `json:"star_count"`
	LastUpdated    string `json:"last_updated"`
}

// repositories reads one page of the namespace's repositories and the
// query of the next page (nil after the last).
func (c *Connector) repositories(ctx context.Context, token kit.Auth, query url.Values) ([]contracts.Resource, url.Values, error) {
	var page struct {
		Count   int          `json:"count"`
		Next    *string      `json:"next"`
		Results []repository `json:"results"`
	}
	if _, err := c.HC.Call(ctx, "list the repositories of Docker Hub namespace "+c.namespace,
		kit.Request{URL: c.listURL(query), Auth: token}, &page); err != nil {
		return nil, nil, err
	}
	out := make([]contracts.Resource, 0, len(page.Results))
	for _, r := range page.Results {
		full := c.namespace + "/" + r.Name
		attrs := map[string]any{"namespace": c.namespace, "private": r.IsPrivate, "pullCount": r.PullCount, "starCount": r.StarCount}
		if r.RepositoryType != "" {
			attrs["repositoryType"] = r.RepositoryType
		}
		if r.LastUpdated != "" {
			attrs["updated"] = r.LastUpdated
		}
		out = append(out, contracts.Resource{Type: ResourceRepositories, Name: full, ID: full, Attributes: attrs})
	}
	if page.Next == nil || *page.Next == "" {
		return out, nil, nil
	}
	// Only the next link's query is kept: the request goes to the
	// configured API, never to a host the answer names.
	next, err := url.Parse(*page.Next)
	if err != nil {
		return nil, nil, resilience.New(resilience.UpstreamError, "list the repositories of Docker Hub namespace %s: the next link is not a URL", c.namespace)
	}
	return out, next.Query(), nil
}

// Discover implements connectors.Discoverer: repositories from the Docker
// Hub API, tags from the registry API v2.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	return c.Vendor.Discover(ctx, q, c)
}

// RepositoryPages implements oci.Source: it signs in, then pages the
// listing by the next links, page_size fixed.
func (c *Connector) RepositoryPages(ctx context.Context) (kit.FetchFunc[contracts.Resource], error) {
	token, _, err := c.signIn(ctx)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, page string, _ int) ([]contracts.Resource, string, error) {
		query := url.Values{"page": {"1"}}
		if page != "" {
			var err error
			if query, err = (kit.Position{Page: page}).Query(); err != nil {
				return nil, "", err
			}
		}
		query.Set("page_size", apiPageSize)
		items, next, err := c.repositories(ctx, token, query)
		if err != nil || next == nil {
			return items, "", err
		}
		return items, next.Encode(), nil
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

// RegistryAuth implements oci.Source: the account itself, which the
// registry's token service takes (no API sign-in).
func (c *Connector) RegistryAuth(ctx context.Context) (oci.Auth, error) { return c.account(ctx) }
