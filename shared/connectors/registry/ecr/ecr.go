// Package ecr is the Amazon ECR provider: repository discovery with the
// ECR API (DescribeRepositories, paged by nextToken) through aws-sdk-go-v2
// on the guarded client, signed as the AWS secret store signs (awsauth:
// static keys or an assumed role), and tags on the registry API v2 through
// the OCI core (registry/oci) with the basic credential
// GetAuthorizationToken returns (AWS and a 12-hour password).
package ecr

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go/logging"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/awsauth/awsclient"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/ecr/spec"
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

const (
	defaultPageSize = 100
	// maxPageSize is DescribeRepositories' largest maxResults.
	maxPageSize = 1000
	// maxListRequests bounds the upstream pages one Discover call reads
	// while a filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// apiCodes are ECR's own error codes; awsclient knows the common ones.
var apiCodes = map[string]resilience.Code{
	"RepositoryNotFoundException": resilience.ResourceNotFound,
	"RegistryNotFoundException":   resilience.ResourceNotFound,
	"ServerException":             resilience.UpstreamError,
}

// Connector is the ecr connector of one integration revision. Static keys
// are resolved per request and not kept; an assumed role's temporary
// credentials are cached by the SDK until they expire; the registry
// password is fetched per call.
type Connector struct {
	endpoint       string
	registryID     string
	v2             *oci.Registry // nil: the proxyEndpoint of each token
	resolveDigests bool
	resolveCreated bool
	in             connectors.Instance
	http           kit.Client
	client         *awsecr.Client
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	region := cfg.String("region")
	if err := awsclient.CheckRegion(region); err != nil {
		return nil, err
	}
	ref := in.Integration.CredentialRef
	if ref == "" {
		return nil, resilience.New(resilience.InvalidConfig, "credentialRef is required: a reference to accessKeyId and secretAccessKey")
	}
	endpoint, err := awsclient.EndpointURL("url", cfg.String("url"), "https://api.ecr."+region+".amazonaws.com")
	if err != nil {
		return nil, err
	}
	c := &Connector{endpoint: endpoint, registryID: cfg.String("registryId"), in: in,
		resolveDigests: cfg.Bool("resolveDigests"), resolveCreated: cfg.Bool("resolveCreated")}
	if c.http, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	registry := cfg.String("registryUrl")
	if registry == "" && c.registryID != "" {
		registry = "https://" + c.registryID + ".dkr.ecr." + region + ".amazonaws.com"
	}
	if registry != "" {
		if c.v2, err = c.registry("registryUrl", registry); err != nil {
			return nil, err
		}
	}
	creds, err := awsclient.Credentials(cfg, region, c.http.HTTP.HTTPClient(), func(ctx context.Context) (credentials.Secret, error) {
		return kit.Resolve(ctx, in.Credentials, ref, "the AWS access keys")
	})
	if err != nil {
		return nil, err
	}
	c.client = awsecr.New(awsecr.Options{
		Region: region, BaseEndpoint: aws.String(endpoint),
		// The guarded client: the SSRF guard, timeout and TLS options apply.
		HTTPClient: c.http.HTTP.HTTPClient(),
		// Retrying is decided by code in resilience, not inside the SDK.
		Retryer: aws.NopRetryer{}, Credentials: creds, Logger: logging.Nop{},
	})
	return c, nil
}

// registry builds the v2 core for a registry base URL.
func (c *Connector) registry(field, raw string) (*oci.Registry, error) {
	base, err := kit.ParseBaseURL(field, raw)
	if err != nil {
		return nil, err
	}
	base.Path = "" // RegistryURL allows a trailing "/" only
	return oci.New(c.in, base)
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// login gets a registry credential with GetAuthorizationToken: its token is
// base64 of "AWS:<password>", valid for every registry the principal may
// read (so no registry id is sent: the field is deprecated).
func (c *Connector) login(ctx context.Context) (*oci.Registry, oci.Auth, error) {
	out, err := c.client.GetAuthorizationToken(ctx, &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, oci.Auth{}, awsclient.Classify(err, c.http.Now(), apiCodes, "get an ECR authorization token")
	}
	if len(out.AuthorizationData) == 0 {
		return nil, oci.Auth{}, resilience.New(resilience.UpstreamError, "get an ECR authorization token: the answer holds none")
	}
	data := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(data.AuthorizationToken))
	user, password, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok || user == "" {
		return nil, oci.Auth{}, resilience.New(resilience.UpstreamError, "get an ECR authorization token: the token is not base64 of user:password")
	}
	v2 := c.v2
	if v2 == nil {
		if v2, err = c.registry("proxyEndpoint", aws.ToString(data.ProxyEndpoint)); err != nil {
			return nil, oci.Auth{}, resilience.Wrap(resilience.UpstreamError, err, "the registry GetAuthorizationToken names")
		}
	}
	return v2, oci.Auth{Username: user, Password: password}, nil
}

// CheckConnectivity sends an unsigned GET to the API endpoint: any HTTP
// answer proves it is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.http.Reach(ctx, "reach the ECR API", c.endpoint+"/")
	return err
}

// CheckAuthentication gets a registry password and signs in with it.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	v2, auth, err := c.login(ctx)
	if err != nil {
		return err
	}
	return v2.Authenticate(ctx, auth, "")
}

// CheckFunctionality reads one repository.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	_, _, err := c.repositories(ctx, "", 1)
	return err
}

// repositories reads one DescribeRepositories page of up to n at token
// ("" first) and the next page's token ("" after the last).
func (c *Connector) repositories(ctx context.Context, token string, n int) ([]contracts.Resource, string, error) {
	in := &awsecr.DescribeRepositoriesInput{MaxResults: aws.Int32(int32(min(max(n, 1), maxPageSize)))}
	if c.registryID != "" {
		in.RegistryId = aws.String(c.registryID)
	}
	if token != "" {
		in.NextToken = aws.String(token)
	}
	out, err := c.client.DescribeRepositories(ctx, in)
	if err != nil {
		return nil, "", awsclient.Classify(err, c.http.Now(), apiCodes, "list ECR repositories")
	}
	items := make([]contracts.Resource, 0, len(out.Repositories))
	for _, r := range out.Repositories {
		name := aws.ToString(r.RepositoryName)
		attrs := map[string]any{"registryId": aws.ToString(r.RegistryId), "uri": aws.ToString(r.RepositoryUri),
			"tagMutability": string(r.ImageTagMutability)}
		if r.CreatedAt != nil {
			attrs[discoveryfilter.CreatedAttribute] = r.CreatedAt.UTC()
		}
		items = append(items, contracts.Resource{Type: ResourceRepositories, Name: name, ID: aws.ToString(r.RepositoryArn), Attributes: attrs})
	}
	return items, aws.ToString(out.NextToken), nil
}

// Discover implements connectors.Discoverer: repositories from the ECR
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
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	var items []contracts.Resource
	var next *kit.Position
	switch q.ResourceType {
	case ResourceRepositories:
		items, next, err = kit.Collect(ctx, collector, start, func(r contracts.Resource) bool { return filter.Keep(r.Name) },
			c.repositories)
	case ResourceTags:
		if q.Filter.Repository == "" {
			return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "tags discovery needs filter.repository (the repository name)")
		}
		v2, auth, lerr := c.login(ctx)
		if lerr != nil {
			return connectors.DiscoveryPage{}, lerr
		}
		items, next, err = v2.DiscoverTags(ctx, auth, oci.TagQuery{ResourceType: ResourceTags, Repository: q.Filter.Repository, Keep: filter.Keep,
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
