// Package prometheus is the Prometheus provider: health checks over its
// HTTP API and instant queries for canary metrics (connectors.MetricsQuerier).
//
// It is hand-written over httpx: the official client_golang API client
// would bring its own error types for three GET/POST calls whose errors must
// carry the hub's codes.
package prometheus

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/metrics/prometheus/spec"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// ProviderID is the spec's type id.
const ProviderID = spec.ProviderID

// Connector is the Prometheus connector of one integration revision. It
// keeps no credential: each call resolves them and drops them when done.
type Connector struct {
	base          *url.URL
	credentialRef string
	credentials   connectors.CredentialSource
	http          *httpx.Client
	ownsHTTP      bool
	now           func() time.Time
}

var (
	_ connectors.Checker        = (*Connector)(nil)
	_ connectors.MetricsQuerier = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := parseBaseURL(cfg.String("url"))
	if err != nil {
		return nil, err
	}
	c := &Connector{base: base, credentialRef: in.Integration.CredentialRef, credentials: in.Credentials, http: in.HTTP, now: time.Now}
	if c.http == nil {
		// The runtime always hands one over; without it, the strict default
		// policy (no internal addresses) is the safe choice.
		if c.http, err = httpx.New(connectors.HTTPOptions(cfg, httpx.GuardPolicy{}, nil)); err != nil {
			return nil, err
		}
		c.ownsHTTP = true
	}
	return c, nil
}

// parseBaseURL accepts an absolute http(s) URL without user info, query or
// fragment; a path (Prometheus behind --web.route-prefix) is kept.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, resilience.New(resilience.InvalidConfig, "config field \"url\" is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return nil, resilience.New(resilience.InvalidConfig, "config field \"url\" must be an absolute http or https URL")
	case u.User != nil:
		return nil, resilience.New(resilience.InvalidConfig, "config field \"url\" must not carry user info: use credentialRef")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, resilience.New(resilience.InvalidConfig, "config field \"url\" must not carry a query or fragment")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Close releases the idle connections of a client the connector built.
func (c *Connector) Close() error {
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// CheckConnectivity sends GET /-/healthy without credentials: a 401 from a
// Prometheus behind basic auth proves it answers as well as a 200 does.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, "/-/healthy", nil, "")
	if err != nil {
		return fmt.Errorf("reach prometheus: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusUnauthorized {
		return nil
	}
	if err := httpx.CheckResponse(resp, c.now()); err != nil {
		return fmt.Errorf("reach prometheus: %w", err)
	}
	return nil
}

// CheckAuthentication reads /api/v1/status/buildinfo with the credentials.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	auth, err := c.authorization(ctx)
	if err != nil {
		return err
	}
	var info struct {
		Version string `json:"version"`
	}
	if err := c.api(ctx, http.MethodGet, "/api/v1/status/buildinfo", nil, auth, &info); err != nil {
		return fmt.Errorf("authenticate to prometheus: %w", err)
	}
	return nil
}

// CheckFunctionality runs the instant query vector(1), which needs no data
// and must return 1.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	v, err := c.Query(ctx, "vector(1)")
	if err != nil {
		return err
	}
	if v != 1 {
		return resilience.New(resilience.UpstreamError, "query vector(1) returned %v, not 1", v)
	}
	return nil
}

// do sends one request with the given Authorization value (or none).
func (c *Connector) do(ctx context.Context, method, path string, form url.Values, authorization string) (*http.Response, error) {
	u := *c.base
	u.Path = c.base.Path + path
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "build a prometheus request")
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return c.http.Do(req)
}

// drain reads what is left of a small body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// authorization resolves the credential reference for one call into an
// Authorization value: Basic for username/password, Bearer for a token, ""
// without a reference.
func (c *Connector) authorization(ctx context.Context) (string, error) {
	if c.credentialRef == "" {
		return "", nil
	}
	if c.credentials == nil {
		return "", resilience.New(resilience.CredentialFetchFailed, "no credential source is configured")
	}
	secret, err := c.credentials.Resolve(ctx, c.credentialRef)
	if err != nil {
		var coded *resilience.Error
		if !errors.As(err, &coded) {
			err = resilience.Wrap(resilience.CredentialFetchFailed, err, "")
		}
		return "", fmt.Errorf("resolve the prometheus credentials: %w", err)
	}
	if user, password, err := secret.Basic(); err == nil {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)), nil
	}
	if token, err := secret.Token(); err == nil {
		return "Bearer " + token, nil
	}
	return "", resilience.New(resilience.InvalidConfig,
		"the prometheus credentials hold neither username and password (basic) nor a token")
}
