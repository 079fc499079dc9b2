package vault

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/resilience"
)

// The causes a caller can tell apart with errors.Is; each comes wrapped in
// a *resilience.Error carrying its code (docs/credentials.md lists them).
var (
	// ErrSealed: Vault is sealed and serves nothing (CREDENTIAL_FETCH_FAILED).
	ErrSealed = errors.New("vault is sealed")
	// ErrNotInitialized: Vault has not been initialised (CREDENTIAL_FETCH_FAILED).
	ErrNotInitialized = errors.New("vault is not initialized")
	// ErrNotServing: the node cannot serve reads, e.g. a DR secondary
	// (CREDENTIAL_FETCH_FAILED).
	ErrNotServing = errors.New("vault node does not serve requests")
	// ErrTokenExpired: the token's TTL ended (AUTHENTICATION_FAILED).
	ErrTokenExpired = errors.New("vault token expired")
	// ErrTokenRefused: Vault refuses the token: wrong or revoked
	// (AUTHENTICATION_FAILED).
	ErrTokenRefused = errors.New("vault token refused")
	// ErrLoginRefused: an AppRole or Kubernetes login was refused
	// (AUTHENTICATION_FAILED).
	ErrLoginRefused = errors.New("vault login refused")
	// ErrPermissionDenied: a valid token lacks a policy (PERMISSION_DENIED).
	ErrPermissionDenied = errors.New("vault policy denies the request")
	// ErrSecretNotFound: no secret at the path, or its latest version is
	// deleted or destroyed (RESOURCE_NOT_FOUND).
	ErrSecretNotFound = errors.New("vault secret not found")
)

// classify turns a vault/api error into a coded one naming the operation.
// Vault's own error text is kept only when it decoded as Vault's error list
// (never a raw body), and the library's message, which includes the URL, is
// dropped.
func (c *Connector) classify(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*resilience.Error); ok {
		return e // already ours
	}
	op := fmt.Sprintf(format, args...)
	var re *api.ResponseError
	if errors.As(err, &re) {
		return responseError(re, op)
	}
	var coded *resilience.Error
	if errors.As(err, &coded) { // the guarded client's transport failure
		return &resilience.Error{Code: coded.Code, Message: op + ": " + coded.Message, RetryAfter: coded.RetryAfter, Err: coded.Err}
	}
	return secrets.ClientFailure(op, "the Vault client", err)
}

// responseError maps Vault's status codes.
func responseError(re *api.ResponseError, op string) error {
	msg := vaultMessage(re)
	e := &resilience.Error{Message: fmt.Sprintf("%s: HTTP %d", op, re.StatusCode)}
	if msg != "" {
		e.Message += ": " + msg
	}
	switch s := re.StatusCode; {
	case s == http.StatusServiceUnavailable && strings.Contains(strings.ToLower(msg), "sealed"):
		e.Code, e.Err = resilience.CredentialFetchFailed, ErrSealed
		e.Message = op + ": Vault is sealed"
	case s == http.StatusServiceUnavailable || s == http.StatusPreconditionFailed || s >= 500:
		e.Code = resilience.UpstreamError
	case s == http.StatusTooManyRequests:
		// The library keeps no headers, so a Retry-After is lost: the
		// retry waits by backoff.
		e.Code = resilience.RateLimited
	case s == http.StatusForbidden:
		e.Code, e.Err = resilience.PermissionDenied, ErrPermissionDenied
	case s == http.StatusUnauthorized:
		e.Code = resilience.AuthenticationFailed
	case s == http.StatusNotFound:
		e.Code, e.Err = resilience.ResourceNotFound, ErrSecretNotFound
	default:
		e.Code = resilience.InvalidConfig
	}
	return e
}

// vaultMessage is Vault's first error message, shortened; "" for raw
// (undecodable) bodies.
func vaultMessage(re *api.ResponseError) string {
	if re.RawError || len(re.Errors) == 0 {
		return ""
	}
	m := re.Errors[0]
	// Multi-error texts: "1 error occurred:\n\t* permission denied\n\n".
	if _, rest, ok := strings.Cut(m, "* "); ok {
		m = rest
	}
	return secrets.Detail(m)
}
