package awssm

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/logging"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/awsauth/awsclient"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the aws-secrets-manager connector of one integration
// revision. Static keys are resolved per request and not kept; an assumed
// role's temporary credentials are cached by the SDK until they expire.
type Connector struct {
	endpoint string
	stage    string
	canary   string
	http     kit.Client
	client   *secretsmanager.Client
}

var (
	_ connectors.Checker      = (*Connector)(nil)
	_ connectors.SecretReader = (*Connector)(nil)
	_ credentials.LeaseReader = (*Connector)(nil)
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
		return nil, resilience.New(resilience.InvalidConfig, "credentialRef is required: an env:// or file:// reference to accessKeyId and secretAccessKey")
	}
	if err := secrets.CheckLocalRef("credentialRef", ref); err != nil {
		return nil, err
	}
	endpoint, err := awsclient.EndpointURL("url", cfg.String("url"), "https://secretsmanager."+region+".amazonaws.com")
	if err != nil {
		return nil, err
	}
	c := &Connector{endpoint: endpoint, stage: cfg.String("versionStage"), canary: cfg.String("canarySecret")}
	if c.http, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	// The access keys, resolved for each request that needs signing.
	creds, err := awsclient.Credentials(cfg, region, c.http.HTTP.HTTPClient(), func(ctx context.Context) (credentials.Secret, error) {
		return secrets.ResolveOwn(ctx, in.Credentials, "credentialRef", ref)
	})
	if err != nil {
		return nil, err
	}
	c.client = secretsmanager.New(secretsmanager.Options{
		Region: region, BaseEndpoint: aws.String(endpoint),
		// The guarded client: the SSRF guard, timeout and TLS options apply.
		HTTPClient: c.http.HTTP.HTTPClient(),
		// Retrying is decided by code in resilience, not inside the SDK.
		Retryer: aws.NopRetryer{}, Credentials: creds, Logger: logging.Nop{},
	})
	return c, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity sends an unsigned GET to the endpoint: any HTTP answer
// (the service says 4xx to it) proves it is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.http.Reach(ctx, "reach AWS Secrets Manager", c.endpoint+"/")
	return err
}

// CheckAuthentication lists one secret with a signed request: an
// AccessDeniedException means AWS accepted the signature and the
// credentials only lack secretsmanager:ListSecrets, which is fine here.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	_, err := c.client.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(1)})
	err = c.classify(err, "list secrets")
	if resilience.CodeOf(err) == resilience.PermissionDenied {
		return nil
	}
	return err
}

// CheckFunctionality reads the canary secret, or lists one secret.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	if c.canary != "" {
		_, err := c.read(ctx, c.canary)
		return err
	}
	_, err := c.client.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(1)})
	return c.classify(err, "list secrets")
}

// ReadSecret implements connectors.SecretReader.
func (c *Connector) ReadSecret(ctx context.Context, path string) (map[string]string, error) {
	s, err := c.read(ctx, path)
	return s.Data, err
}

// ReadSecretLease implements credentials.LeaseReader (Secrets Manager has
// no leases; the version id is reported).
func (c *Connector) ReadSecretLease(ctx context.Context, path string) (credentials.StoreSecret, error) {
	return c.read(ctx, path)
}

// read gets the value of the configured staging label of secret name: a
// JSON object's fields, else the string (or binary) as "value".
func (c *Connector) read(ctx context.Context, name string) (credentials.StoreSecret, error) {
	out, err := c.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: aws.String(c.stage)})
	if err != nil {
		return credentials.StoreSecret{}, c.classify(err, "read secret %q (%s)", name, c.stage)
	}
	var data map[string]string
	switch {
	case out.SecretString != nil:
		data = secrets.Values(*out.SecretString)
	case out.SecretBinary != nil:
		data = secrets.Values(string(out.SecretBinary))
	default:
		return credentials.StoreSecret{}, resilience.New(resilience.ResourceNotFound, "secret %q (%s) has no value", name, c.stage)
	}
	return credentials.StoreSecret{Data: data, Version: aws.ToString(out.VersionId)}, nil
}

// apiCodes are Secrets Manager's own error codes; awsclient knows the
// common ones.
var apiCodes = map[string]resilience.Code{
	"ResourceNotFoundException": resilience.ResourceNotFound,
	// A secret scheduled for deletion, among other states a request can't use.
	"InvalidRequestException": resilience.ResourceNotFound,
	"DecryptionFailure":       resilience.PermissionDenied,
}

// classify turns an SDK error into a coded one naming the operation.
func (c *Connector) classify(err error, format string, args ...any) error {
	return awsclient.Classify(err, c.http.Now(), apiCodes, fmt.Sprintf(format, args...))
}
