// Package acr is the Azure Container Registry provider: repositories from
// ACR's catalog API (/acr/v1/_catalog?n=&last=, paged by its Link header),
// tags on the registry API v2 through the OCI core (registry/oci). It signs
// in with the admin user, or with a Microsoft Entra application: the Entra
// token (azauth, as the Key Vault store gets it) is exchanged at
// /oauth2/exchange for an ACR refresh token, which signs in to v2 (as
// docker login does with az acr login) and is exchanged at /oauth2/token
// for the catalog's access token.
package acr

import (
	"context"
	"net/url"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/azauth"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/acr/spec"
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
	AuthAdminUser        = spec.AuthAdminUser
	AuthClientSecret     = spec.AuthClientSecret
)

// RefreshTokenUser is the username under which ACR takes a refresh token
// as password.
const RefreshTokenUser = "00000000-0000-0000-0000-000000000000"

// EntraScope is what the Entra ID token is asked for: ACR's audience.
const EntraScope = "https://containerregistry.azure.net/.default"

// catalogScope is the access the catalog needs.
const catalogScope = "registry:catalog:*"

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// maxListRequests bounds the upstream pages one Discover call reads
	// while a filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// Connector is the acr connector of one integration revision. It keeps no
// credential: each call resolves it (the Entra token cache lives in no
// field either; a call gets a new one).
type Connector struct {
	base           *url.URL
	method         string
	tenantID       string
	resolveDigests bool
	resolveCreated bool
	credentialRef  string
	credentials    connectors.CredentialSource
	entra          azcore.TokenCredential
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
	base.Path = "" // RegistryURL allows a trailing "/" only
	c := &Connector{base: base, tenantID: cfg.String("tenantId"),
		resolveDigests: cfg.Bool("resolveDigests"), resolveCreated: cfg.Bool("resolveCreated"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials}
	if c.credentialRef == "" {
		return nil, resilience.New(resilience.InvalidConfig, "credentialRef is required: the admin user, or the client secret")
	}
	c.method = cfg.String("authMethod")
	clientID := cfg.String("clientId")
	if c.method == AuthClientSecret && (c.tenantID == "" || clientID == "") {
		return nil, resilience.New(resilience.InvalidConfig, "authMethod clientSecret needs config fields tenantId and clientId")
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	if c.v2, err = oci.New(in, base); err != nil {
		return nil, err
	}
	switch c.method {
	case AuthAdminUser:
	case AuthClientSecret:
		authority, err := kit.ParseBaseURL("authorityHost", cfg.String("authorityHost"), kit.HTTPSOnly())
		if err != nil {
			return nil, err
		}
		c.entra = &azauth.ClientSecret{TenantID: c.tenantID, ClientID: clientID, HTTP: c.hc.HTTP,
			Options: azcore.ClientOptions{
				// The guarded client; retrying is decided by code in resilience.
				Transport: c.hc.HTTP.HTTPClient(), Retry: policy.RetryOptions{MaxRetries: -1},
				Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: authority.String() + "/"},
			},
			Resolve: func(ctx context.Context) (credentials.Secret, error) {
				return kit.Resolve(ctx, in.Credentials, c.credentialRef, "the client secret")
			}}
	default:
		return nil, resilience.New(resilience.InvalidConfig, "config field authMethod must be adminUser or clientSecret")
	}
	return c, nil
}

// Close releases nothing: the connector holds no state.
func (c *Connector) Close() error { return nil }

// login is the registry credential of one call: the admin user, or the
// refresh token /oauth2/exchange gives for a new Entra ID token.
func (c *Connector) login(ctx context.Context) (oci.Auth, error) {
	if c.method == AuthAdminUser {
		s, err := kit.Resolve(ctx, c.credentials, c.credentialRef, "the ACR admin user")
		if err != nil {
			return oci.Auth{}, err
		}
		user, password, err := s.Basic()
		if err != nil {
			return oci.Auth{}, resilience.New(resilience.InvalidConfig, "authMethod adminUser needs a username and password")
		}
		return oci.Auth{Username: user, Password: password}, nil
	}
	tok, err := c.entra.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{EntraScope}})
	if err != nil {
		if e, ok := azauth.TokenError("sign in to ACR", err); ok {
			return oci.Auth{}, e
		}
		if coded := azauth.CodedCause(err); coded != nil {
			return oci.Auth{}, coded
		}
		return oci.Auth{}, resilience.Wrap(resilience.UpstreamError, err, "sign in to ACR: obtain a Microsoft Entra token")
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	form := url.Values{"grant_type": {"access_token"}, "service": {c.v2.Host()}, "tenant": {c.tenantID}, "access_token": {tok.Token}}
	if _, err := c.hc.Call(ctx, "exchange the Entra ID token at ACR", kit.Request{Method: "POST",
		URL: kit.Endpoint(c.base, "/oauth2/exchange", nil), Form: form}, &out); err != nil {
		return oci.Auth{}, err
	}
	if out.RefreshToken == "" {
		return oci.Auth{}, resilience.New(resilience.UpstreamError, "exchange the Entra ID token at ACR: the answer holds no refresh_token")
	}
	return oci.Auth{Username: RefreshTokenUser, Password: out.RefreshToken}, nil
}

// catalogToken gets the catalog's access token at /oauth2/token: for a
// refresh token with the refresh_token grant, for the admin user with a
// Basic GET (as the registry's token flow does).
func (c *Connector) catalogToken(ctx context.Context, auth oci.Auth) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	req := kit.Request{URL: kit.Endpoint(c.base, "/oauth2/token", url.Values{"service": {c.v2.Host()}, "scope": {catalogScope}}),
		Auth: kit.Basic(auth.Username, auth.Password)}
	if auth.Username == RefreshTokenUser {
		req = kit.Request{Method: "POST", URL: kit.Endpoint(c.base, "/oauth2/token", nil), Form: url.Values{"grant_type": {"refresh_token"},
			"service": {c.v2.Host()}, "scope": {catalogScope}, "refresh_token": {auth.Password}}}
	}
	if _, err := c.hc.Call(ctx, "get an ACR access token for the catalog", req, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", resilience.New(resilience.UpstreamError, "get an ACR access token for the catalog: the answer holds no access_token")
	}
	return out.AccessToken, nil
}

// CheckConnectivity sends GET /v2/ without credentials.
func (c *Connector) CheckConnectivity(ctx context.Context) error { return c.v2.Ping(ctx) }

// CheckAuthentication signs in to the registry.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	auth, err := c.login(ctx)
	if err != nil {
		return err
	}
	return c.v2.Authenticate(ctx, auth, "")
}

// CheckFunctionality reads the first repository of the catalog.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	auth, err := c.login(ctx)
	if err != nil {
		return err
	}
	token, err := c.catalogToken(ctx, auth)
	if err != nil {
		return err
	}
	_, _, err = c.catalog(ctx, token, "", 1)
	return err
}

// catalog reads one page of /acr/v1/_catalog: n names from page (the query
// of the previous page's Link, "" first) and the next page's query ("" at
// the end). Only the query of a Link is followed, on this registry.
func (c *Connector) catalog(ctx context.Context, token, page string, n int) ([]contracts.Resource, string, error) {
	query, err := url.ParseQuery(page)
	if err != nil {
		return nil, "", resilience.New(resilience.InvalidConfig, "the cursor is not a page of the ACR catalog")
	}
	query.Set("n", strconv.Itoa(min(max(n, 1), maxPageSize)))
	var out struct {
		Repositories []string `json:"repositories"`
	}
	resp, err := c.hc.Call(ctx, "list ACR repositories", kit.Request{URL: kit.Endpoint(c.base, "/acr/v1/_catalog", query), Auth: kit.Bearer(token)}, &out)
	if err != nil {
		return nil, "", err
	}
	items := make([]contracts.Resource, 0, len(out.Repositories))
	for _, name := range out.Repositories {
		items = append(items, contracts.Resource{Type: ResourceRepositories, Name: name, ID: c.v2.Host() + "/" + name,
			Attributes: map[string]any{"registry": c.v2.Host()}})
	}
	next, err := kit.NextQuery(resp.Header)
	if err != nil || next == nil {
		return items, "", err
	}
	next.Del("n") // each request sets its own page size
	return items, next.Encode(), nil
}

// Discover implements connectors.Discoverer: repositories from the catalog
// API, tags from the registry API v2.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	filter, err := discoveryfilter.Parse(q.Filter)
	if err != nil {
		return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "%s", err.Error())
	}
	start, err := kit.DecodeCursor(q.Cursor, kit.Position.Valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	if q.ResourceType == ResourceTags && q.Filter.Repository == "" {
		return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "tags discovery needs filter.repository")
	}
	if q.ResourceType != ResourceRepositories && q.ResourceType != ResourceTags {
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
			"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourceRepositories, ResourceTags)
	}
	auth, err := c.login(ctx)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	var items []contracts.Resource
	var next *kit.Position
	if q.ResourceType == ResourceRepositories {
		token, terr := c.catalogToken(ctx, auth)
		if terr != nil {
			return connectors.DiscoveryPage{}, terr
		}
		items, next, err = kit.Collect(ctx, collector, start, func(r contracts.Resource) bool { return filter.Keep(r.Name) },
			func(ctx context.Context, page string, want int) ([]contracts.Resource, string, error) {
				return c.catalog(ctx, token, page, want)
			})
	} else {
		items, next, err = c.v2.DiscoverTags(ctx, auth, oci.TagQuery{ResourceType: ResourceTags, Repository: q.Filter.Repository, Keep: filter.Keep,
			Collector: collector, Start: start, Digests: c.resolveDigests, Created: c.resolveCreated})
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
