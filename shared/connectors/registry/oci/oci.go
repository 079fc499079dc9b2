// Package oci is the one OCI-distribution (registry API v2) core of the
// registry providers, built on go-containerregistry: its transport runs the
// registry auth flow (Basic, or Bearer tokens from the realm a 401
// challenge names) over the integration's guarded transport, never a
// client of its own, and this package adds what the hub needs around it:
// the hub's error codes (Classify), Retry-After and vendor quota headers
// kept for the retry strategy, tags one page at a time behind an opaque
// cursor, and each tag's digest and creation time. A vendor provider adds
// only what differs: how it gets credentials and how it lists
// repositories.
package oci

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Auth is the credential of one call: username and password (Basic, or
// exchanged at the token realm), or a registry bearer token. It is built
// per call from a resolved secret and never kept.
type Auth struct {
	Username, Password string
	Token              string
}

// authenticator hands go-containerregistry the call's credential.
func (a Auth) authenticator() authn.Authenticator {
	switch {
	case a.Token != "":
		return &authn.Bearer{Token: a.Token}
	case a.Username != "":
		return &authn.Basic{Username: a.Username, Password: a.Password}
	}
	return authn.Anonymous
}

// Registry is the v2 endpoint of one integration.
type Registry struct {
	reg  name.Registry
	base http.RoundTripper // the guarded transport, classifying rate limits
	now  func() time.Time
}

// New builds the v2 core for a registry base URL (scheme and host; v2 has
// no path prefix) on the runtime's guarded client.
func New(in connectors.Instance, base *url.URL) (*Registry, error) {
	if in.HTTP == nil {
		return nil, resilience.New(resilience.InvalidConfig,
			"no HTTP client was given to the %s connector: connectors are built by the runtime, which supplies the guarded client",
			in.Integration.TypeID)
	}
	if base.Path != "" && base.Path != "/" {
		return nil, resilience.New(resilience.InvalidConfig, "the registry API v2 lives at the root of its host: drop the path %q from the URL", base.Path)
	}
	var opts []name.Option
	if base.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(base.Host, append(opts, name.StrictValidation)...)
	if err != nil {
		return nil, resilience.New(resilience.InvalidConfig, "the registry host %q is not a registry name", base.Host)
	}
	r := &Registry{reg: reg, now: time.Now}
	hc := in.HTTP.HTTPClient()
	lt := &limitTransport{next: hc.Transport, now: r.clock, timeout: hc.Timeout}
	if base.Scheme == "http" {
		lt.plainHost = reg.RegistryStr()
	}
	r.base = lt
	return r, nil
}

func (r *Registry) clock() time.Time { return r.now() }

// Host is the registry's host[:port].
func (r *Registry) Host() string { return r.reg.RegistryStr() }

// Repository parses a repository name on this registry.
func (r *Registry) Repository(repo string) (name.Repository, error) {
	ref, err := name.NewRepository(repo, name.WithDefaultRegistry(r.reg.RegistryStr()))
	if err != nil || ref.RegistryStr() != r.reg.RegistryStr() || strings.Contains(repo, "..") {
		return name.Repository{}, resilience.New(resilience.InvalidConfig,
			"%q is not a repository name (lowercase path components like myorg/myapp)", repo)
	}
	if r.reg.Scheme() == "http" {
		ref.Registry = r.reg
	}
	return ref, nil
}

// transport returns go-containerregistry's authorizing transport for scopes
// over the guarded one: it pings /v2/, reads the challenge and fetches a
// token when the registry wants one. Being a transport.Wrapper, it also tells
// remote not to add retries of its own: retries are the hub's strategy.
func (r *Registry) transport(ctx context.Context, auth Auth, scopes ...string) (http.RoundTripper, error) {
	t, err := transport.NewWithContext(ctx, r.reg, auth.authenticator(), r.base, scopes)
	if err != nil {
		return nil, Classify("authenticate to the registry", err)
	}
	return t, nil
}

// Ping sends GET /v2/ without credentials: any answer of the API, a 401
// challenge included, proves the registry is reachable.
func (r *Registry) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.reg.Scheme()+"://"+r.reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return resilience.Wrap(resilience.InvalidConfig, err, "reach the registry")
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return Classify("reach the registry", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode < 300, resp.StatusCode == http.StatusUnauthorized:
		return nil
	}
	return httpx.CheckResponse(resp, r.now())
}

// Authenticate runs the auth flow for a repository's pull scope (the
// registry scope when repo is ""), then GET /v2/ with the result: it proves
// the credentials without reading anything.
func (r *Registry) Authenticate(ctx context.Context, auth Auth, repo string) error {
	scope := "registry:catalog:*"
	if repo != "" {
		ref, err := r.Repository(repo)
		if err != nil {
			return err
		}
		scope = ref.Scope(transport.PullScope)
	}
	t, err := r.transport(ctx, auth, scope)
	if err != nil {
		return err
	}
	return r.get(ctx, t, "authenticate to the registry", "/v2/", nil, nil)
}
