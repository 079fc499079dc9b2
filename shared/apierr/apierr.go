// Package apierr is the error vocabulary of the hub's API, the same on HTTP
// and on bus replies: a status, a stable machine-readable code and a sentence
// for a person. Messages never carry secrets or stack traces.
package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/stella-ops/inthub/shared/contracts"
)

// Stable API error codes. Clients switch on these, so they never change.
const (
	Unauthorized            = "UNAUTHORIZED"
	Forbidden               = "FORBIDDEN"
	NotFound                = "INTEGRATION_NOT_FOUND"
	RouteNotFound           = "NOT_FOUND"
	MethodNotAllowed        = "METHOD_NOT_ALLOWED"
	MalformedJSON           = "MALFORMED_JSON"
	UnknownProvider         = "UNKNOWN_PROVIDER"
	UnknownConfigField      = "UNKNOWN_CONFIG_FIELD"
	UnknownField            = "UNKNOWN_FIELD"
	InvalidTenant           = "INVALID_TENANT"
	MissingRequiredField    = "MISSING_REQUIRED_FIELD"
	InvalidFieldType        = "INVALID_FIELD_TYPE"
	InvalidFieldValue       = "INVALID_FIELD_VALUE"
	InvalidURL              = "INVALID_URL"
	LiteralSecret           = "LITERAL_SECRET"
	InvalidCredentialRef    = "INVALID_CREDENTIAL_REF"
	CredentialRefNotAllowed = "CREDENTIAL_REF_NOT_ALLOWED"
	InvalidLabel            = "INVALID_LABEL"
	InvalidLabelSelector    = "INVALID_LABEL_SELECTOR"
	InvalidCursor           = "INVALID_CURSOR"
	InvalidQuery            = "INVALID_QUERY"
	// InvalidMetricsQuery refuses a metrics query the provider cannot run
	// (a syntax error, a range asking too many points).
	InvalidMetricsQuery = "INVALID_METRICS_QUERY"
	// InvalidCondition refuses an analysis condition that does not compile
	// to a boolean expression.
	InvalidCondition        = "INVALID_CONDITION"
	ValidationFailed        = "VALIDATION_FAILED"
	ImmutableField          = "IMMUTABLE_FIELD"
	PayloadTooLarge         = "PAYLOAD_TOO_LARGE"
	UnsupportedMediaType    = "UNSUPPORTED_MEDIA_TYPE"
	PreconditionFailed      = "PRECONDITION_FAILED"
	PreconditionRequired    = "PRECONDITION_REQUIRED"
	IdempotencyKeyReused    = "IDEMPOTENCY_KEY_REUSED"
	UnsupportedResourceType = "UNSUPPORTED_RESOURCE_TYPE"
	Timeout                 = "TIMEOUT"
	Unavailable             = "UNAVAILABLE"
	Internal                = "INTERNAL"
)

// Error is an API error. Status is the HTTP status; on the bus it travels as
// the micro error code.
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

// Error renders "CODE: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Body returns the wire shape.
func (e *Error) Body() contracts.ErrorBody {
	return contracts.ErrorBody{Code: e.Code, Message: e.Message, Details: e.Details}
}

// With returns a copy with one detail added.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = map[string]any{}
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// New builds an error with a formatted message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadRequest is New with 400.
func BadRequest(code, format string, args ...any) *Error {
	return New(http.StatusBadRequest, code, format, args...)
}

// From returns err as an *Error, or an INTERNAL one that hides err's text
// (internal errors may carry details a caller must not see).
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return New(http.StatusInternalServerError, Internal, "internal error")
}

// FromBody rebuilds an error received on the wire.
func FromBody(status int, b contracts.ErrorBody) *Error {
	return &Error{Status: status, Code: b.Code, Message: b.Message, Details: b.Details}
}

// JSONProblem describes a JSON decode error without echoing values: the
// member of a wrong type, or the decoder's sentence cut to 200 bytes.
func JSONProblem(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("field %q has the wrong type", ute.Field)
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
