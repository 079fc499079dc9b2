package awssm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
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
	if region == "" || strings.ContainsAny(region, "/:?# ") {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"region\" must be an AWS region such as eu-west-1")
	}
	ref := in.Integration.CredentialRef
	if ref == "" {
		return nil, resilience.New(resilience.InvalidConfig, "credentialRef is required: an env:// or file:// reference to accessKeyId and secretAccessKey")
	}
	if err := secrets.CheckLocalRef("credentialRef", ref); err != nil {
		return nil, err
	}
	endpoint, err := endpointURL("url", cfg.String("url"), "https://secretsmanager."+region+".amazonaws.com")
	if err != nil {
		return nil, err
	}
	c := &Connector{endpoint: endpoint, stage: cfg.String("versionStage"), canary: cfg.String("canarySecret")}
	if c.http, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	// The access keys, resolved for each request that needs signing.
	var creds aws.CredentialsProvider = aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		s, err := secrets.ResolveOwn(ctx, in.Credentials, "credentialRef", ref)
		if err != nil {
			return aws.Credentials{}, err
		}
		return accessKeys(s)
	})
	switch method := cfg.String("authMethod"); method {
	case AuthStatic:
	case AuthAssumeRole:
		roleArn := cfg.String("roleArn")
		if !strings.HasPrefix(roleArn, "arn:") {
			return nil, resilience.New(resilience.InvalidConfig, "authMethod assumeRole needs config field roleArn (arn:aws:iam::<account>:role/<name>)")
		}
		stsEndpoint, err := endpointURL("stsUrl", cfg.String("stsUrl"), "https://sts."+region+".amazonaws.com")
		if err != nil {
			return nil, err
		}
		stsClient := sts.New(sts.Options{Region: region, BaseEndpoint: aws.String(stsEndpoint), HTTPClient: c.http.HTTP.HTTPClient(),
			Retryer: aws.NopRetryer{}, Credentials: creds, Logger: logging.Nop{}})
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, roleArn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = cfg.String("roleSessionName")
			if id := cfg.String("externalId"); id != "" {
				o.ExternalID = aws.String(id)
			}
		}))
	default:
		return nil, resilience.New(resilience.InvalidConfig, "config field authMethod must be static or assumeRole")
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

// endpointURL checks an endpoint override or returns def.
func endpointURL(field, raw, def string) (string, error) {
	if raw == "" {
		return def, nil
	}
	u, err := kit.ParseBaseURL(field, raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// accessKeys reads an access key pair: accessKeyId and secretAccessKey
// (sessionToken optional), or a basic credential whose username is the key
// id and password the secret key.
func accessKeys(s credentials.Secret) (aws.Credentials, error) {
	id := s.First("accessKeyId", "access_key_id", "aws_access_key_id", "username")
	secret := s.First("secretAccessKey", "secret_access_key", "aws_secret_access_key", "password")
	if id == "" || secret == "" {
		return aws.Credentials{}, resilience.New(resilience.InvalidConfig,
			"the AWS credentials need keys accessKeyId and secretAccessKey (or username and password)")
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: s.First("sessionToken", "session_token", "aws_session_token"),
		Source: "inthub credentialRef"}, nil
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

// apiCodes maps Secrets Manager's (and STS's) error codes to the hub's.
var apiCodes = map[string]resilience.Code{
	"ResourceNotFoundException": resilience.ResourceNotFound,
	// A secret scheduled for deletion, among other states a request can't use.
	"InvalidRequestException":   resilience.ResourceNotFound,
	"AccessDeniedException":     resilience.PermissionDenied,
	"AccessDenied":              resilience.PermissionDenied,
	"DecryptionFailure":         resilience.PermissionDenied,
	"InvalidParameterException": resilience.InvalidConfig,
	"ValidationException":       resilience.InvalidConfig,

	"UnrecognizedClientException":         resilience.AuthenticationFailed,
	"InvalidSignatureException":           resilience.AuthenticationFailed,
	"SignatureDoesNotMatch":               resilience.AuthenticationFailed,
	"IncompleteSignature":                 resilience.AuthenticationFailed,
	"MissingAuthenticationToken":          resilience.AuthenticationFailed,
	"MissingAuthenticationTokenException": resilience.AuthenticationFailed,
	"InvalidClientTokenId":                resilience.AuthenticationFailed,
	"ExpiredToken":                        resilience.AuthenticationFailed,
	"ExpiredTokenException":               resilience.AuthenticationFailed,
	"InvalidAccessKeyId":                  resilience.AuthenticationFailed,

	"ThrottlingException":      resilience.RateLimited,
	"Throttling":               resilience.RateLimited,
	"TooManyRequestsException": resilience.RateLimited,
	"RequestLimitExceeded":     resilience.RateLimited,

	"InternalServiceError": resilience.UpstreamError,
	"InternalFailure":      resilience.UpstreamError,
	"ServiceUnavailable":   resilience.UpstreamError,
}

// classify turns an SDK error into a coded one naming the operation. The
// service's message is kept (it describes the request, never the secret).
func (c *Connector) classify(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	op := fmt.Sprintf(format, args...)
	var api smithy.APIError
	if errors.As(err, &api) {
		code, ok := apiCodes[api.ErrorCode()]
		status, header := 0, http.Header(nil)
		var resp interface{ HTTPResponse() *smithyhttp.Response }
		if errors.As(err, &resp) {
			if r := resp.HTTPResponse(); r != nil && r.Response != nil {
				status, header = r.StatusCode, r.Header
			}
		}
		if !ok {
			code = fallback(status)
		}
		e := &resilience.Error{Code: code, Message: fmt.Sprintf("%s: %s (HTTP %d): %s", op, api.ErrorCode(), status, secrets.Detail(api.ErrorMessage()))}
		if code == resilience.RateLimited && header != nil {
			e.RetryAfter, _ = httpx.RetryAfter(header, c.http.Now())
		}
		return e
	}
	var coded *resilience.Error
	if errors.As(err, &coded) { // the guarded client's failure, or our own
		return &resilience.Error{Code: coded.Code, Message: op + ": " + coded.Message, RetryAfter: coded.RetryAfter, Err: coded.Err}
	}
	return secrets.ClientFailure(op, "the AWS client", err)
}

func fallback(status int) resilience.Code {
	switch {
	case status == http.StatusUnauthorized:
		return resilience.AuthenticationFailed
	case status == http.StatusForbidden:
		return resilience.PermissionDenied
	case status == http.StatusNotFound:
		return resilience.ResourceNotFound
	case status == http.StatusTooManyRequests:
		return resilience.RateLimited
	case status >= 500 || status == 0:
		return resilience.UpstreamError
	}
	return resilience.InvalidConfig
}
