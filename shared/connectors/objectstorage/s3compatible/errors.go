package s3compatible

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// s3Codes maps the S3 API's error codes to the hub's. Codes not listed fall
// back to the HTTP status (statusCode).
var s3Codes = map[string]resilience.Code{
	// The signature or the key behind it is wrong: the credentials.
	"InvalidAccessKeyId":    resilience.AuthenticationFailed,
	"SignatureDoesNotMatch": resilience.AuthenticationFailed,
	"InvalidToken":          resilience.AuthenticationFailed,
	"ExpiredToken":          resilience.AuthenticationFailed,
	"TokenRefreshRequired":  resilience.AuthenticationFailed,
	"InvalidSecurity":       resilience.AuthenticationFailed,
	"MissingSecurityHeader": resilience.AuthenticationFailed,
	// The signature's time is too far from the server's: no retry fixes a
	// skewed clock, and the message says which.
	"RequestTimeTooSkewed": resilience.AuthenticationFailed,
	// VersityGW's answer (HTTP 404) to an access key id it does not know.
	"XAdminUserNotFound": resilience.AuthenticationFailed,

	// Valid credentials without the permission.
	"AccessDenied":      resilience.PermissionDenied,
	"AllAccessDisabled": resilience.PermissionDenied,
	"AccountProblem":    resilience.PermissionDenied,

	"NoSuchBucket": resilience.ResourceNotFound,
	"NoSuchKey":    resilience.ResourceNotFound,
	"NotFound":     resilience.ResourceNotFound,

	// The request's region or addressing does not match the server's.
	"AuthorizationHeaderMalformed": resilience.InvalidConfig,
	"PermanentRedirect":            resilience.InvalidConfig,
	"InvalidBucketName":            resilience.InvalidConfig,

	// S3's ways of saying "reduce your request rate".
	"SlowDown":             resilience.RateLimited,
	"ServiceUnavailable":   resilience.RateLimited,
	"Throttling":           resilience.RateLimited,
	"ThrottlingException":  resilience.RateLimited,
	"RequestLimitExceeded": resilience.RateLimited,
	"TooManyRequests":      resilience.RateLimited,

	"RequestTimeout": resilience.Timeout,
	"InternalError":  resilience.UpstreamError,
}

// fromAPIError returns the coded error of an S3 error answer, or nil when
// err is not one (a transport failure, a canceled context).
func fromAPIError(err error, now time.Time) *resilience.Error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return nil
	}
	var status int
	var header http.Header
	// The SDK's response error (aws/transport/http.ResponseError) embeds
	// smithy's; match the method they share.
	var resp interface{ HTTPResponse() *smithyhttp.Response }
	if errors.As(err, &resp) {
		if r := resp.HTTPResponse(); r != nil && r.Response != nil {
			status, header = r.StatusCode, r.Header
		}
	}
	code, ok := s3Codes[api.ErrorCode()]
	switch {
	case ok:
	case status == 0: // no answer we could read
		code = resilience.UpstreamError
	default:
		code, _ = httpx.StatusCode(status, header, now)
	}
	e := &resilience.Error{Code: code, Message: fmt.Sprintf("HTTP %d", status), Err: api}
	if code == resilience.RateLimited && header != nil {
		e.RetryAfter, _ = httpx.RetryAfter(header, now)
	}
	return e
}
