// Package resilience holds the hub's closed set of error codes, the retry
// strategy decided for each code, and the per-integration circuit breaker.
//
// Every error that leaves a connector carries one of these codes; nothing
// else decides whether a call is retried.
package resilience

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code is one of the hub's error codes. The set is closed: Codes lists it.
type Code string

// The codes of integration errors: six general ones, then those that name
// more precisely what a real API answered.
const (
	IntegrationNotFound   Code = "INTEGRATION_NOT_FOUND"
	IntegrationUnhealthy  Code = "INTEGRATION_UNHEALTHY"
	CredentialFetchFailed Code = "CREDENTIAL_FETCH_FAILED"
	ConnectionRefused     Code = "CONNECTION_REFUSED"
	AuthenticationFailed  Code = "AUTHENTICATION_FAILED"
	RateLimited           Code = "RATE_LIMITED"

	// Timeout: the remote did not answer within the integration's timeout.
	Timeout Code = "TIMEOUT"
	// InvalidConfig: the integration's configuration cannot work (bad URL,
	// wrong credential shape); retrying changes nothing.
	InvalidConfig Code = "INVALID_CONFIG"
	// NotSupported: the provider has no such capability or resource type.
	NotSupported Code = "NOT_SUPPORTED"
	// ResourceNotFound: the remote answered that the thing asked for (a
	// repository, a secret, a key) does not exist.
	ResourceNotFound Code = "RESOURCE_NOT_FOUND"
	// PermissionDenied: the credentials are valid but lack a permission.
	PermissionDenied Code = "PERMISSION_DENIED"
	// DestinationBlocked: the guarded HTTP client refused the target address
	// (loopback, link-local, private, metadata) by operator policy.
	DestinationBlocked Code = "DESTINATION_BLOCKED"
	// UpstreamError: the remote failed (5xx, malformed answer).
	UpstreamError Code = "UPSTREAM_ERROR"
)

// Codes is the closed set, in a stable order (docs and schemas use it).
var Codes = []Code{
	IntegrationNotFound, IntegrationUnhealthy, CredentialFetchFailed, ConnectionRefused,
	AuthenticationFailed, RateLimited, Timeout, InvalidConfig, NotSupported,
	ResourceNotFound, PermissionDenied, DestinationBlocked, UpstreamError,
}

// Valid reports whether c belongs to the closed set.
func (c Code) Valid() bool {
	for _, k := range Codes {
		if k == c {
			return true
		}
	}
	return false
}

// Error is a connector error: a code, a sentence for a person, and the cause.
// Message and the wrapped cause must never contain a credential.
type Error struct {
	Code    Code
	Message string
	// RetryAfter is the server's requested delay (RATE_LIMITED), zero if none.
	RetryAfter time.Duration
	Err        error
}

// Error renders "CODE: message: cause".
func (e *Error) Error() string {
	s := string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and context to err. A nil err gives nil.
func Wrap(code Code, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// WrapDefault attaches context to err, keeping the code (and Retry-After) err
// already carries, and attaching code only to an error without one: a
// credential reference refused as INVALID_CONFIG must stay a configuration
// error, not become a retried CREDENTIAL_FETCH_FAILED on its way up.
func WrapDefault(code Code, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var coded *Error
	if errors.As(err, &coded) {
		code = coded.Code
		return &Error{Code: code, Message: fmt.Sprintf(format, args...), RetryAfter: coded.RetryAfter, Err: err}
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code an error carries. Context deadline errors are
// TIMEOUT; an error without a code is UPSTREAM_ERROR.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	return UpstreamError
}

// RetryAfterOf returns the server's requested delay carried by err, if any.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// MessageOf returns err's text without its leading code, for bodies that
// carry the code in a field of its own.
func MessageOf(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if c := CodeOf(err); c != "" {
		s = strings.TrimPrefix(s, string(c)+": ")
	}
	return s
}
