// Package awsclient is the SDK side of awsauth, shared by the hub's AWS
// providers: the credentials an aws-sdk-go-v2 client signs with (static
// access keys resolved per request, or the cached temporary credentials of
// a role assumed with them), the SDK options that keep it on the guarded
// client without retries of its own, and AWS error codes mapped to the
// hub's.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/awsauth"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// CheckRegion refuses a region that would not make a host name.
func CheckRegion(region string) error {
	if region == "" || strings.ContainsAny(region, "/:?# ") {
		return resilience.New(resilience.InvalidConfig, "config field \"region\" must be an AWS region such as eu-west-1")
	}
	return nil
}

// EndpointURL checks an endpoint override of config field field, or
// returns def.
func EndpointURL(field, raw, def string) (string, error) {
	if raw == "" {
		return def, nil
	}
	u, err := kit.ParseBaseURL(field, raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Credentials builds the signing credentials from the awsauth fields of cfg
// (authMethod, roleArn, externalId, roleSessionName, stsUrl): keys resolves
// the access keys for each request that needs them; with assumeRole they
// sign STS AssumeRole on hc, and the SDK caches the role's temporary
// credentials until they expire.
func Credentials(cfg connectors.Values, region string, hc aws.HTTPClient, keys func(context.Context) (credentials.Secret, error)) (aws.CredentialsProvider, error) {
	var creds aws.CredentialsProvider = aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		s, err := keys(ctx)
		if err != nil {
			return aws.Credentials{}, err
		}
		return AccessKeys(s)
	})
	switch cfg.String("authMethod") {
	case awsauth.AuthStatic:
		return creds, nil
	case awsauth.AuthAssumeRole:
	default:
		return nil, resilience.New(resilience.InvalidConfig, "config field authMethod must be static or assumeRole")
	}
	roleArn := cfg.String("roleArn")
	if !strings.HasPrefix(roleArn, "arn:") {
		return nil, resilience.New(resilience.InvalidConfig, "authMethod assumeRole needs config field roleArn (arn:aws:iam::<account>:role/<name>)")
	}
	stsEndpoint, err := EndpointURL("stsUrl", cfg.String("stsUrl"), "https://sts."+region+".amazonaws.com")
	if err != nil {
		return nil, err
	}
	stsClient := sts.New(sts.Options{Region: region, BaseEndpoint: aws.String(stsEndpoint), HTTPClient: hc,
		Retryer: aws.NopRetryer{}, Credentials: creds, Logger: logging.Nop{}})
	return aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, roleArn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = cfg.String("roleSessionName")
		if id := cfg.String("externalId"); id != "" {
			o.ExternalID = aws.String(id)
		}
	})), nil
}

// AccessKeys reads an access key pair: accessKeyId and secretAccessKey
// (sessionToken optional), or a basic credential whose username is the key
// id and password the secret key.
func AccessKeys(s credentials.Secret) (aws.Credentials, error) {
	id := s.First("accessKeyId", "access_key_id", "aws_access_key_id", "username")
	secret := s.First("secretAccessKey", "secret_access_key", "aws_secret_access_key", "password")
	if id == "" || secret == "" {
		return aws.Credentials{}, resilience.New(resilience.InvalidConfig,
			"the AWS credentials need keys accessKeyId and secretAccessKey (or username and password)")
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: s.First("sessionToken", "session_token", "aws_session_token"),
		Source: "inthub credentialRef"}, nil
}

// codes maps AWS error codes (of the JSON services and of STS) to the hub's;
// a service adds its own with Classify's extra map.
var codes = map[string]resilience.Code{
	"AccessDeniedException":     resilience.PermissionDenied,
	"AccessDenied":              resilience.PermissionDenied,
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
	"ServerException":      resilience.UpstreamError,
}

// Classify turns an SDK error into a coded one naming the operation op:
// the service's own codes first (service, may be nil), then the common
// ones, then the HTTP status. The service's message is kept (it describes
// the request, never a credential); Retry-After, when a throttled answer
// has one, goes to the retry strategy.
func Classify(err error, now time.Time, service map[string]resilience.Code, op string) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code, ok := service[api.ErrorCode()]
		if !ok {
			code, ok = codes[api.ErrorCode()]
		}
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
			e.RetryAfter, _ = httpx.RetryAfter(header, now)
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
