// Package azauth is how the hub's Azure providers get Microsoft Entra ID
// tokens, once for all of them: the client credentials grant with a client
// secret resolved whenever a token is needed, on the guarded client with
// the configured authority, and Entra ID's refusals mapped to the hub's
// codes.
package azauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// ClientSecret is an azcore.TokenCredential that resolves the client
// secret whenever a token is needed and asks Entra ID for one (client
// credentials grant); nothing keeps the secret.
type ClientSecret struct {
	TenantID, ClientID string
	// Resolve returns the credential holding the client secret.
	Resolve func(context.Context) (credentials.Secret, error)
	// Options carry the guarded transport, no SDK retries and the
	// authority host.
	Options azcore.ClientOptions
	HTTP    *httpx.Client
}

// GetToken implements azcore.TokenCredential.
func (s *ClientSecret) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	secret, err := s.Resolve(ctx)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	value := secret.First("clientSecret", "client_secret", "value")
	if value == "" {
		return azcore.AccessToken{}, resilience.New(resilience.InvalidConfig, "the Azure credentials hold no clientSecret (or value)")
	}
	// MSAL flattens a transport error into text: the recorder keeps its code
	// (DESTINATION_BLOCKED for an authorityHost the guard refuses).
	hc, rec := s.HTTP.Recording()
	options := s.Options
	options.Transport = hc
	cred, err := azidentity.NewClientSecretCredential(s.TenantID, s.ClientID, value, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: options,
		// The authority is the configured one; asking login.microsoft.com
		// to vouch for it would be an extra call outside the operator's host.
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		return azcore.AccessToken{}, resilience.New(resilience.InvalidConfig, "Azure client secret credential: %s", secrets.Detail(err.Error()))
	}
	tok, err := cred.GetToken(ctx, opts)
	if coded := rec.Failure(); err != nil && coded != nil {
		return azcore.AccessToken{}, &resilience.Error{Code: coded.Code, Message: "obtain a Microsoft Entra token: " + coded.Message,
			RetryAfter: coded.RetryAfter, Err: coded.Err}
	}
	return tok, err
}

// TokenError classifies a failed token request of operation op: Entra ID's
// refusal (AUTHENTICATION_FAILED, RATE_LIMITED for 429, UPSTREAM_ERROR for
// 5xx) with the first sentence of its description, or the coded failure of
// the guarded client. It reports false for an error of another kind.
func TokenError(op string, err error) (error, bool) {
	var af *azidentity.AuthenticationFailedError
	if !errors.As(err, &af) {
		return nil, false
	}
	code, status := resilience.AuthenticationFailed, 0
	if af.RawResponse != nil {
		status = af.RawResponse.StatusCode
		switch {
		case status == http.StatusTooManyRequests:
			code = resilience.RateLimited
		case status >= 500:
			code = resilience.UpstreamError
		}
	} else if coded := CodedCause(err); coded != nil {
		return &resilience.Error{Code: coded.Code, Message: op + ": obtain a Microsoft Entra token: " + coded.Message, Err: coded.Err}, true
	}
	return &resilience.Error{Code: code, Message: fmt.Sprintf("%s: Microsoft Entra ID refused the credentials (HTTP %d): %s", op, status, entraMessage(af.RawResponse))}, true
}

// CodedCause is the hub error in err's chain, if any.
func CodedCause(err error) *resilience.Error {
	var coded *resilience.Error
	if errors.As(err, &coded) {
		return coded
	}
	return nil
}

// BodyText reads a small error body (the SDK has buffered it) and leaves
// it readable again.
func BodyText(resp *http.Response) string {
	if resp == nil || resp.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return string(b)
}

// entraMessage is the first sentence of Entra ID's error_description
// ("AADSTS7000215: Invalid client secret provided."), without its trace and
// correlation ids.
func entraMessage(resp *http.Response) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal([]byte(BodyText(resp)), &e) != nil {
		return ""
	}
	d := e.Description
	if i := strings.Index(d, ". "); i >= 0 {
		d = d[:i+1]
	}
	if i := strings.IndexAny(d, "\r\n"); i >= 0 {
		d = d[:i]
	}
	return secrets.Detail(e.Error + ": " + d)
}
