package kit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/stella-ops/inthub/shared/resilience"
)

// SDKAuth resolves the credential header of one request of an SDK (per
// request, so no token is kept); the zero Auth sends none.
type SDKAuth func(ctx context.Context) (Auth, error)

// anonymousKey marks a context whose SDK requests carry no credential.
type anonymousKey struct{}

// Anonymous returns ctx for SDK requests sent without the credential (a
// connectivity probe through the same SDK client).
func Anonymous(ctx context.Context) context.Context {
	return context.WithValue(ctx, anonymousKey{}, true)
}

// SDKClient returns an *http.Client for an SDK that takes one (go-github,
// the Gitea SDK). It dials nothing itself: every request goes through the
// guarded client's Do (its address policy, timeout, redirect rule and coded
// transport errors). On the way it gets the header auth resolves for it,
// and an answer check refuses (c.Check when nil) becomes that coded error
// before the SDK sees it: SDKs reduce error answers to their own types,
// which lose the hub's codes and the rate-limit wait. Read what an SDK
// returns with SDKError.
func (c Client) SDKClient(auth SDKAuth, check func(*http.Response) error) *http.Client {
	if check == nil {
		check = c.Check
	}
	return &http.Client{
		Transport: &sdkTransport{c: c, auth: auth, check: check},
		// The guarded client followed the redirects its rule allows; one it
		// handed back is an answer, not something to follow out of its sight.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type sdkTransport struct {
	c     Client
	auth  SDKAuth
	check func(*http.Response) error
}

func (t *sdkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// A clone to add the header to (a RoundTripper leaves the caller's
	// request alone); it shares the body, which the guarded client sends.
	out := req.Clone(ctx)
	if anon, _ := ctx.Value(anonymousKey{}).(bool); !anon && t.auth != nil {
		a, err := t.auth(ctx)
		if err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
		a.apply(out.Header)
	}
	resp, err := t.c.HTTP.Do(out)
	if err != nil {
		return nil, err
	}
	if err := t.check(resp); err != nil {
		Drain(resp)
		return nil, err
	}
	return resp, nil
}

// SDKError reads an error an SDK returned over SDKClient: the coded error
// inside net/http's url.Error (whose text holds the URL and its query) is
// kept and named by what; an error of the SDK's own (an answer it could
// not decode) is UPSTREAM_ERROR, the context's deadline TIMEOUT; a nil err
// is nil.
func SDKError(what string, err error) error {
	if err == nil {
		return nil
	}
	var coded *resilience.Error
	if errors.As(err, &coded) {
		return fmt.Errorf("%s: %w", what, coded)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return resilience.Wrap(resilience.Timeout, err, "%s", what)
	}
	return resilience.Wrap(resilience.UpstreamError, err, "%s", what)
}
