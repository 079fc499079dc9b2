package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// client calls the hub's HTTP API (/api/v1). It is hand-written: the API is
// ours and small, and no SDK of it exists.
type client struct {
	base  string
	token string
	hc    *http.Client
}

func newClient(base, token string, timeout time.Duration) *client {
	return &client{base: base, token: token, hc: &http.Client{Timeout: timeout}}
}

// response is a successful answer: status, headers and the raw body, which
// -o json prints as the API sent it.
type response struct {
	status int
	header http.Header
	body   []byte
}

// apiError is an answer of 400 or more, in the API's {code, message, details}.
type apiError struct {
	Status int
	Body   contracts.ErrorBody
}

func (e *apiError) Error() string { return codeMessage(e.Body.Code, e.Body.Message) }

// codeMessage is "CODE: message", or whichever of the two is set; a message
// that already starts with its code is not prefixed twice.
func codeMessage(code, message string) string {
	switch {
	case code == "":
		return message
	case message == "":
		return code
	case strings.HasPrefix(message, code+":"):
		return message
	}
	return code + ": " + message
}

func (e *apiError) exitCode() int {
	switch e.Status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return ExitInvalidInput
	case http.StatusNotFound:
		return ExitNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return ExitUnauthorized
	}
	return ExitError
}

// detailsLine renders details as key=value pairs, sorted, for the error output.
func (e *apiError) detailsLine() string {
	if len(e.Body.Details) == 0 {
		return ""
	}
	keys := make([]string, 0, len(e.Body.Details))
	for k := range e.Body.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+compactValue(e.Body.Details[k]))
	}
	return strings.Join(parts, " ")
}

// unreachableError says the server could not be reached at all.
type unreachableError struct {
	server string
	err    error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v", e.server, e.err)
}
func (e *unreachableError) Unwrap() error { return e.err }

// request is one API call.
type request struct {
	method      string
	path        string
	query       url.Values
	body        any // marshalled as JSON when not nil
	contentType string
	ifMatch     string
	// idempotencyKey, when set, is sent as Idempotency-Key.
	idempotencyKey string
}

func (c *client) do(ctx context.Context, r request) (*response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		raw, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stella/"+Version)
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	if r.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.idempotencyKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.classify(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, c.classify(err)
	}
	if resp.StatusCode >= 400 {
		return nil, decodeError(resp, raw)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// classify turns a transport error into unreachableError when the server
// could not be reached (refused, timed out, name not resolved).
func (c *client) classify(err error) error {
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	var dns *net.DNSError
	var op *net.OpError
	var ue *url.Error
	switch {
	case errors.As(err, &dns):
		return &unreachableError{server: c.base, err: err}
	case errors.As(err, &op) && op.Op == "dial":
		return &unreachableError{server: c.base, err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ue) && ue.Timeout():
		return &unreachableError{server: c.base, err: fmt.Errorf("no answer in time (see --timeout): %w", err)}
	}
	return fmt.Errorf("request to %s failed: %w", c.base, err)
}

// decodeError reads the API's error body; a body that is not one (a proxy's
// HTML page) still gives a code and the status.
func decodeError(resp *http.Response, raw []byte) error {
	e := &apiError{Status: resp.StatusCode}
	if json.Unmarshal(raw, &e.Body) != nil || e.Body.Code == "" {
		e.Body = contracts.ErrorBody{
			Code:    fmt.Sprintf("HTTP_%d", resp.StatusCode),
			Message: fmt.Sprintf("server answered %s without an API error body", resp.Status),
		}
	}
	return e
}

// Providers lists the providers of the live catalog.
func (c *client) Providers(ctx context.Context, includeTestOnly bool) (*response, contracts.ProviderList, error) {
	var q url.Values
	if includeTestOnly {
		q = url.Values{"includeTestOnly": {"true"}}
	}
	var out contracts.ProviderList
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/integrations/providers", query: q}, &out)
	return resp, out, err
}

// List returns one page of integrations.
func (c *client) List(ctx context.Context, q contracts.ListQuery) (*response, listPage, error) {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("typeId", q.TypeID)
	set("category", q.Category)
	set("labelSelector", q.LabelSelector)
	set("healthStatus", string(q.HealthStatus))
	set("cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	var out listPage
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/integrations", query: v}, &out)
	return resp, out, err
}

// Get reads one integration; the response's ETag is its revision.
func (c *client) Get(ctx context.Context, id string) (*response, contracts.Integration, error) {
	var out contracts.Integration
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: integrationPath(id)}, &out)
	return resp, out, err
}

// Create stores a new integration.
func (c *client) Create(ctx context.Context, in contracts.IntegrationInput) (*response, contracts.Integration, error) {
	var out contracts.Integration
	resp, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v1/integrations", body: in}, &out)
	return resp, out, err
}

// Patch applies a JSON merge patch, conditional on ifMatch when it is set.
func (c *client) Patch(ctx context.Context, id string, patch map[string]any, ifMatch string) (*response, contracts.Integration, error) {
	var out contracts.Integration
	resp, err := c.doJSON(ctx, request{
		method: http.MethodPatch, path: integrationPath(id), body: patch,
		contentType: "application/merge-patch+json", ifMatch: ifMatch,
	}, &out)
	return resp, out, err
}

// Delete removes an integration, conditional on ifMatch when it is set.
func (c *client) Delete(ctx context.Context, id, ifMatch string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: integrationPath(id), ifMatch: ifMatch})
	return err
}

// Test runs every check level of an integration now.
func (c *client) Test(ctx context.Context, id string) (*response, contracts.TestResponse, error) {
	var out contracts.TestResponse
	resp, err := c.doJSON(ctx, request{method: http.MethodPost, path: integrationPath(id) + "/test"}, &out)
	return resp, out, err
}

// Discover lists one page of resources of an integration.
func (c *client) Discover(ctx context.Context, id string, in contracts.DiscoveryRequest) (*response, discoveryPage, error) {
	var out discoveryPage
	resp, err := c.doJSON(ctx, request{method: http.MethodPost, path: integrationPath(id) + "/discover", body: in}, &out)
	return resp, out, err
}

func (c *client) doJSON(ctx context.Context, r request, out any) (*response, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return nil, fmt.Errorf("%s %s: the server's answer is not the expected JSON: %w", r.method, r.path, err)
	}
	return resp, nil
}

func integrationPath(id string) string { return "/api/v1/integrations/" + url.PathEscape(id) }

// listPage is one page of GET /integrations, items kept raw so -o json of
// several pages prints every field the server sent.
type listPage struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// discoveryPage is one DiscoveryResult, items kept raw for the same reason.
type discoveryPage struct {
	ResourceType string            `json:"resourceType"`
	Items        []json.RawMessage `json:"items"`
	NextCursor   string            `json:"nextCursor,omitempty"`
	CacheHit     bool              `json:"cacheHit"`
	AgeSeconds   int64             `json:"ageSeconds"`
	DiscoveredAt time.Time         `json:"discoveredAt"`
}
