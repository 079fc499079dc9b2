package dockerregistry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxBody bounds a JSON answer read into memory: a catalog page of 1000
// names is well under a megabyte.
const maxBody = 16 << 20

// Connector is the docker-registry connector of one integration revision.
// It keeps no credential: each call resolves them and drops them when done;
// only the registry-issued bearer tokens are cached, until they expire.
type Connector struct {
	base           *url.URL
	repository     string
	resolveDigests bool
	credentialRef  string
	credentials    connectors.CredentialSource
	http           *httpx.Client
	ownsHTTP       bool
	now            func() time.Time
	tokens         *tokenCache
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := parseBaseURL(cfg.String("url"))
	if err != nil {
		return nil, err
	}
	repo := cfg.String("repository")
	if repo != "" && !validRepository(repo) {
		return nil, resilience.New(resilience.InvalidConfig,
			"config field \"repository\" is not a repository name (lowercase path components like myorg/myapp)")
	}
	c := &Connector{
		base: base, repository: repo, resolveDigests: cfg.Bool("resolveDigests"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
		http: in.HTTP, now: time.Now,
	}
	if c.tokens, err = newTokenCache(); err != nil {
		return nil, err
	}
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
// fragment; a path (a registry behind a prefix) is kept.
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

// Close drops cached tokens and, when the connector built its own HTTP
// client, its idle connections.
func (c *Connector) Close() error {
	c.tokens.clear()
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// endpoint returns the URL of an API path ("/v2/_catalog") under the base.
func (c *Connector) endpoint(path string, query url.Values) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	return &u
}

// CheckConnectivity sends GET /v2/ without credentials: any answer of the
// API, a 401 challenge included, proves the registry is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("/v2/", nil).String(), nil)
	if err != nil {
		return resilience.Wrap(resilience.InvalidConfig, err, "build the connectivity request")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reach the registry: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusUnauthorized {
		return nil
	}
	if err := httpx.CheckResponse(resp, c.now()); err != nil {
		return fmt.Errorf("reach the registry: %w", err)
	}
	return nil
}

// CheckAuthentication sends GET /v2/ through the auth flow with a token
// fetched now, never a cached one: it must prove the credentials today.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	cred, err := c.credential(ctx)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, cred, request{method: http.MethodGet, url: c.endpoint("/v2/", nil), fresh: true})
	if err != nil {
		return fmt.Errorf("authenticate to the registry: %w", err)
	}
	defer drain(resp)
	if err := httpx.CheckResponse(resp, c.now()); err != nil {
		return fmt.Errorf("authenticate to the registry: %w", err)
	}
	return nil
}

// CheckFunctionality reads one catalog entry, the cheapest real operation.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	cred, err := c.credential(ctx)
	if err != nil {
		return err
	}
	_, _, err = c.listPage(ctx, cred, catalog(), url.Values{"n": {"1"}})
	return err
}

// drain reads what is left of a small body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// credential resolves the integration's credential reference for one call;
// no reference means anonymous access.
func (c *Connector) credential(ctx context.Context) (credential, error) {
	if c.credentialRef == "" {
		return credential{}, nil
	}
	if c.credentials == nil {
		return credential{}, resilience.New(resilience.CredentialFetchFailed, "no credential source is configured")
	}
	secret, err := c.credentials.Resolve(ctx, c.credentialRef)
	if err != nil {
		var coded *resilience.Error
		if !errors.As(err, &coded) {
			err = resilience.Wrap(resilience.CredentialFetchFailed, err, "")
		}
		return credential{}, fmt.Errorf("resolve the registry credentials: %w", err)
	}
	if user, password, err := secret.Basic(); err == nil {
		return credential{user: user, password: password}, nil
	}
	if token, err := secret.Token(); err == nil {
		return credential{token: token}, nil
	}
	return credential{}, resilience.New(resilience.InvalidConfig,
		"the registry credentials hold neither username and password (basic) nor a token")
}
