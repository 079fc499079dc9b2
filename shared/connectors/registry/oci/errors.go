package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Classify gives an error of go-containerregistry (or of the guarded
// transport under it) the hub's code: the distribution spec's error codes
// first (TOOMANYREQUESTS, UNAUTHORIZED, DENIED, NAME_UNKNOWN,
// MANIFEST_UNKNOWN), else the HTTP status by the one status table
// (httpx.StatusCode). The text names the status and the codes, never the
// URL's query or a header.
func Classify(what string, err error) error {
	if err == nil {
		return nil
	}
	var coded *resilience.Error
	if errors.As(err, &coded) {
		return resilience.WrapDefault(coded.Code, err, "%s", what)
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return resilience.Wrap(resilience.UpstreamError, err, "%s", what)
	}
	code, _ := httpx.StatusCode(te.StatusCode, nil, time.Time{})
	var names []string
	for _, d := range te.Errors {
		names = append(names, string(d.Code))
		switch d.Code {
		case transport.TooManyRequestsErrorCode:
			code = resilience.RateLimited
		case transport.UnauthorizedErrorCode:
			code = resilience.AuthenticationFailed
		case transport.DeniedErrorCode:
			code = resilience.PermissionDenied
		case transport.NameUnknownErrorCode, transport.ManifestUnknownErrorCode, transport.BlobUnknownErrorCode:
			code = resilience.ResourceNotFound
		case transport.NameInvalidErrorCode, transport.TagInvalidErrorCode:
			code = resilience.InvalidConfig
		case transport.UnavailableErrorCode:
			code = resilience.UpstreamError
		}
	}
	msg := fmt.Sprintf("%s: HTTP %d %s", what, te.StatusCode, http.StatusText(te.StatusCode))
	if len(names) > 0 {
		msg += " (" + strings.Join(names, ", ") + ")"
	}
	return &resilience.Error{Code: code, Message: msg}
}

// limitTransport turns an answer that asks the client to wait — 429, a 503
// with Retry-After, a 403 of an exhausted quota (GitHub's
// x-ratelimit-remaining: 0) — into a RATE_LIMITED error carrying the delay
// (Retry-After, or the vendor's reset header), which go-containerregistry
// would otherwise reduce to a status. The retry strategy reads it.
//
// It also keeps a plain-http registry on http: go-containerregistry's ping
// of an insecure registry tries https first, but an http:// URL is the
// operator's choice, so that attempt goes to http as well.
type limitTransport struct {
	next http.RoundTripper
	now  func() time.Time
	// plainHost is the host of an http:// registry, "" otherwise.
	plainHost string
	// host is the registry's host; prefix (PathPrefix) goes before the
	// path of each v2 request to it.
	host, prefix string
	// timeout bounds each request as the guarded client's Timeout does:
	// go-containerregistry uses the transport, not the client, so the
	// client's own bound never applies (0: none).
	timeout time.Duration
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.plainHost != "" && req.URL.Scheme == "https" && req.URL.Host == t.plainHost {
		req = req.Clone(req.Context())
		req.URL.Scheme = "http"
	}
	if t.prefix != "" && req.URL.Host == t.host && (req.URL.Path == "/v2" || strings.HasPrefix(req.URL.Path, "/v2/")) {
		req = req.Clone(req.Context())
		req.URL.Path = t.prefix + req.URL.Path
		req.URL.RawPath = ""
	}
	cancel := context.CancelFunc(func() {})
	if t.timeout > 0 {
		var ctx context.Context
		ctx, cancel = context.WithTimeout(req.Context(), t.timeout)
		req = req.WithContext(ctx)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		cancel()
		if errors.Is(req.Context().Err(), context.DeadlineExceeded) {
			return nil, resilience.Wrap(resilience.Timeout, err, "%s %s://%s%s: no answer within %s",
				req.Method, req.URL.Scheme, req.URL.Host, req.URL.Path, t.timeout)
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	if !asksToWait(resp) {
		return resp, nil
	}
	defer kit.Drain(resp)
	return nil, httpx.CheckResponse(resp, t.now())
}

// cancelBody releases a request's deadline when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func asksToWait(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusServiceUnavailable:
		return resp.Header.Get("Retry-After") != ""
	case http.StatusForbidden:
		code, _ := httpx.StatusCode(resp.StatusCode, resp.Header, time.Time{})
		return code == resilience.RateLimited
	}
	return false
}
