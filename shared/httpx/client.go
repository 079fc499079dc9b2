package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

// Client is an integration's guarded, instrumented HTTP client; it is safe
// for concurrent use and should live as long as the integration's settings.
type Client struct {
	hc           *http.Client
	timeout      time.Duration
	maxRedirects int
	hidePath     bool
}

// New builds a Client from an integration's options; invalid options give an
// INVALID_CONFIG error.
func New(opts Options) (*Client, error) { return newClient(opts, nil) }

// Validate refuses what New would refuse (a timeout out of range, a CA or
// client certificate that does not load) without building a client: for
// a connector that brings its own transport, whose TLS settings are still
// the integration's to get right.
func Validate(opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	_, err = opts.tlsConfig()
	return err
}

// newClient is New with a hook run after the guard passes an address.
func newClient(opts Options, afterCheck func(network, address string) error) (*Client, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := baseFor(opts, afterCheck)
	if err != nil {
		return nil, err
	}
	c := &Client{timeout: opts.Timeout, maxRedirects: opts.MaxRedirects, hidePath: opts.HidePath}
	c.hc = &http.Client{
		Transport:     newTransport(base, opts),
		CheckRedirect: c.checkRedirect,
		Timeout:       opts.Timeout,
	}
	return c, nil
}

// HTTPClient returns the guarded *http.Client for SDKs that take one; its
// errors carry resilience codes through url.Error, but their text includes
// the URL as net/http writes it, so prefer Do where you build the request.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// CloseIdleConnections is called when an integration's settings change and
// its old Client is dropped. The pooled connections belong to the transport
// the Client shares with every client of identical transport settings, so
// they are not closed here (another integration may be using them): they
// close after IdleConnTimeout, or when the last client sharing them is gone.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Do sends req. Any HTTP status is a response, not an error (see
// CheckResponse); a failure to get one is a *resilience.Error whose text names
// method, scheme, host and path, never the query string or headers.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, c.requestError(req, err)
	}
	return resp, nil
}

// requestError drops net/http's url.Error, whose text includes the query
// string, and keeps a coded error naming the request safely.
func (c *Client) requestError(req *http.Request, err error) error {
	var coded *resilience.Error
	var uerr *url.Error
	inner := err
	if errors.As(err, &uerr) {
		inner = uerr.Err
	}
	switch {
	case errors.As(inner, &coded):
		return coded // the transport already named the hop that failed
	case uerr != nil && uerr.Timeout():
		// net/http flattens the transport's error into text on Client.Timeout.
		return &resilience.Error{Code: resilience.Timeout, Err: context.DeadlineExceeded,
			Message: fmt.Sprintf("%s: no answer within %s", describe(req, c.hidePath), c.timeout)}
	}
	code, what := classify(inner)
	return &resilience.Error{Code: code, Message: describe(req, c.hidePath) + ": " + what, Err: inner}
}

// checkRedirect limits redirects and refuses non-http(s) targets; the
// guard itself runs again for every hop in the transport and the dialer.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if c.maxRedirects < 0 {
		return http.ErrUseLastResponse
	}
	first := via[0]
	if len(via) > c.maxRedirects {
		return resilience.New(resilience.UpstreamError, "%s: stopped after %d redirects",
			describe(first, c.hidePath), c.maxRedirects)
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return resilience.New(resilience.DestinationBlocked, "%s: refusing a redirect to a %q URL",
			describe(first, c.hidePath), s)
	}
	return nil
}
