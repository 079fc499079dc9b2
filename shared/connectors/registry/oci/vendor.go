package oci

import (
	"context"
	"net/url"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/discoveryfilter"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Page sizes and request bound of every vendor's Discover.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// maxListRequests bounds the upstream pages one Discover call reads
	// while a filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// Catalog describes a vendor's discovery for Discover: its provider id and
// resource types (for errors and dispatch), how a tags query names its
// repository, and how its repository listing ends.
type Catalog struct {
	ProviderID           string
	ResourceRepositories string
	ResourceTags         string
	// RepositoryHint says how filter.repository is written, in the error
	// of a tags query without one ("project/name").
	RepositoryHint string
	// StopOnEmpty ends the repository listing at an empty page (see
	// kit.Collector): for APIs that never send one before the end.
	StopOnEmpty bool
	// DefaultRepository is the repository of a tags query whose filter
	// names none ("": the query must name one).
	DefaultRepository string
	// PathPrefix keeps the registry URL's path as the prefix of v2 (see
	// oci.PathPrefix); without it the path is dropped.
	PathPrefix bool
}

// Source is what a vendor supplies to Discover: its own API's repository
// listing, the full name of a tags query's repository, and its registry
// credential. Each resolves what it needs for one call and keeps nothing.
type Source interface {
	// RepositoryPages resolves the call's API credential and returns the
	// repository listing, one upstream page a call.
	RepositoryPages(ctx context.Context) (kit.FetchFunc[contracts.Resource], error)
	// TagRepository is the registry name of filter.repository (never "").
	TagRepository(repo string) string
	// RegistryAuth resolves the call's registry credential.
	RegistryAuth(ctx context.Context) (Auth, error)
}

// Vendor is what every vendor registry provider (Harbor, Docker Hub, Quay,
// ghcr, Artifactory) holds besides its own API settings: the tag detail
// switches, the credential reference, the guarded API client and the v2
// core. It keeps no credential.
type Vendor struct {
	// HC is the guarded client of the vendor's API.
	HC kit.Client
	// V2 is the registry API v2 of the vendor's registry.
	V2             *Registry
	catalog        Catalog
	resolveDigests bool
	resolveCreated bool
	credentialRef  string
	credentials    connectors.CredentialSource
}

// NewVendor reads the resolveDigests and resolveCreated fields of cfg and
// builds the API client and the v2 core of the registry at registry (its
// path is dropped: v2 lives at the root of its host).
func NewVendor(in connectors.Instance, cfg connectors.Values, registry *url.URL, catalog Catalog) (Vendor, error) {
	v := Vendor{
		catalog:        catalog,
		resolveDigests: cfg.Bool("resolveDigests"), resolveCreated: cfg.Bool("resolveCreated"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	var err error
	if v.HC, err = kit.NewClient(in); err != nil {
		return Vendor{}, err
	}
	host := *registry
	var opts []Option
	if catalog.PathPrefix {
		opts = append(opts, PathPrefix())
	} else {
		host.Path = "" // a RegistryURL field allows a trailing "/" only
	}
	if v.V2, err = New(in, &host, opts...); err != nil {
		return Vendor{}, err
	}
	return v, nil
}

// Close releases nothing: the connector holds no state.
func (v *Vendor) Close() error { return nil }

// Secret resolves the integration's credential for one call; what names
// it in errors ("the Quay API token").
func (v *Vendor) Secret(ctx context.Context, what string) (credentials.Secret, error) {
	return kit.Resolve(ctx, v.credentials, v.credentialRef, what)
}

// CheckRegistryAuth signs in to the registry with the credential src
// resolves: the authentication check of a vendor whose API has none of
// its own.
func (v *Vendor) CheckRegistryAuth(ctx context.Context, src Source) error {
	auth, err := src.RegistryAuth(ctx)
	if err != nil {
		return err
	}
	return v.V2.Authenticate(ctx, auth, "")
}

// Discover is the discovery of every vendor provider: the filter and the
// cursor checked, then repositories from src's listing or tags from the
// registry API v2 (DiscoverTags), a page at a time.
func (v *Vendor) Discover(ctx context.Context, q connectors.DiscoveryQuery, src Source) (connectors.DiscoveryPage, error) {
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
	case v.catalog.ResourceRepositories:
		items, next, err = v.repositories(ctx, src, filter, collector, start)
	case v.catalog.ResourceTags:
		items, next, err = v.tags(ctx, src, q.Filter.Repository, filter, collector, start)
	default:
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported, "resource type %q: provider %s discovers %s and %s",
			q.ResourceType, v.catalog.ProviderID, v.catalog.ResourceRepositories, v.catalog.ResourceTags)
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

// repositories collects a page of src's repositories that pass filter.
func (v *Vendor) repositories(ctx context.Context, src Source, filter *discoveryfilter.Filter,
	collector kit.Collector, start kit.Position) ([]contracts.Resource, *kit.Position, error) {
	fetch, err := src.RepositoryPages(ctx)
	if err != nil {
		return nil, nil, err
	}
	collector.StopOnEmpty = v.catalog.StopOnEmpty
	return kit.Collect(ctx, collector, start, func(r contracts.Resource) bool { return filter.Keep(r.Name) }, fetch)
}

// tags collects a page of a repository's tags over v2.
func (v *Vendor) tags(ctx context.Context, src Source, repo string, filter *discoveryfilter.Filter,
	collector kit.Collector, start kit.Position) ([]contracts.Resource, *kit.Position, error) {
	if repo == "" {
		repo = v.catalog.DefaultRepository
	}
	if repo == "" {
		return nil, nil, resilience.New(resilience.InvalidConfig, "tags discovery needs filter.repository (%s)", v.catalog.RepositoryHint)
	}
	auth, err := src.RegistryAuth(ctx)
	if err != nil {
		return nil, nil, err
	}
	return v.V2.DiscoverTags(ctx, auth, TagQuery{ResourceType: v.catalog.ResourceTags, Repository: src.TagRepository(repo),
		Keep: filter.Keep, Collector: collector, Start: start, Digests: v.resolveDigests, Created: v.resolveCreated})
}

// BaseAndRegistry reads the url field, the base of the vendor's REST API,
// and the registry: registryUrl when set, else the host of url.
func BaseAndRegistry(cfg connectors.Values) (base, registry *url.URL, err error) {
	if base, err = kit.ParseBaseURL("url", cfg.String("url")); err != nil {
		return nil, nil, err
	}
	registry = &url.URL{Scheme: base.Scheme, Host: base.Host}
	if raw := cfg.String("registryUrl"); raw != "" {
		if registry, err = kit.ParseBaseURL("registryUrl", raw); err != nil {
			return nil, nil, err
		}
	}
	return base, registry, nil
}

// Basic resolves the integration's credential, a username and password,
// for one call: the basic auth of the REST API and the registry
// credential. what names the credential in errors; refused is the
// INVALID_CONFIG message when it holds no username and password.
func (v *Vendor) Basic(ctx context.Context, what, refused string) (kit.Auth, Auth, error) {
	secret, err := v.Secret(ctx, what)
	if err != nil {
		return kit.Auth{}, Auth{}, err
	}
	user, password, err := secret.Basic()
	if err != nil {
		return kit.Auth{}, Auth{}, resilience.New(resilience.InvalidConfig, "%s", refused)
	}
	return kit.Basic(user, password), Auth{Username: user, Password: password}, nil
}
