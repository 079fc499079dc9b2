package kit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Request is one API call.
type Request struct {
	Method string // "" is GET
	URL    string // absolute; build it with Endpoint
	// Header holds extra headers (a CSRF crumb, an API version).
	Header http.Header
	// Auth is the credential header; the zero Auth sends none.
	Auth Auth
	// Accept is the Accept header; "" sends application/json.
	Accept string
	// JSON, when not nil, is encoded as the body (Content-Type
	// application/json); else Form, when not nil, is (form-urlencoded).
	JSON any
	Form url.Values
	// Body, when JSON and Form are nil, is sent as it is (a signed payload
	// whose bytes must not be re-encoded); set its Content-Type in Header.
	Body []byte
	// MaxBody bounds the answer Call decodes; 0 is DefaultMaxBody.
	MaxBody int64
}

// Send builds and sends r and returns the response whatever its status; the
// caller drains it (Drain). Transport failures carry httpx's codes.
func (c Client) Send(ctx context.Context, r Request) (*http.Response, error) {
	var body io.Reader
	contentType := ""
	switch {
	case r.JSON != nil:
		b, err := json.Marshal(r.JSON)
		if err != nil {
			// Something JSON cannot carry (a channel, a func) is the
			// caller's input, not the server's fault.
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "encode the request body")
		}
		body, contentType = bytes.NewReader(b), "application/json"
	case r.Form != nil:
		body, contentType = strings.NewReader(r.Form.Encode()), "application/x-www-form-urlencoded"
	case r.Body != nil:
		body = bytes.NewReader(r.Body)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "build the %s request", method)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	accept := r.Accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	r.Auth.apply(req.Header)
	return c.HTTP.Do(req)
}

// Check classifies an answer's status with httpx.CheckResponse: nil for
// 1xx-3xx, else the code the status (and Retry-After) calls for.
func (c Client) Check(resp *http.Response) error { return httpx.CheckResponse(resp, c.now()) }

// Call sends r, classifies the answer (Check) and decodes a JSON body into
// out (nil, or a 204 answer: nothing decoded). It returns the response with
// its body consumed and closed, for headers and status. what names the
// operation in errors ("list projects").
func (c Client) Call(ctx context.Context, what string, r Request, out any) (*http.Response, error) {
	return c.CallChecked(ctx, what, r, out, c.Check)
}

// CallChecked is Call with the provider's own classification: check sees
// every answer and returns nil for those to decode.
func (c Client) CallChecked(ctx context.Context, what string, r Request, out any, check func(*http.Response) error) (*http.Response, error) {
	resp, err := c.Send(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer Drain(resp)
	if err := check(resp); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return resp, nil
	}
	if err := DecodeJSON(resp.Body, r.MaxBody, out); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return resp, nil
}
