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

// Registry is the v2 endpoint of one integration. Besides the registry's
// name and the guarded transport it keeps the registry's auth challenge and
// the bearer tokens the token service issued, each for its expires_in (see
// auth.go): no credential, only what the registry handed out.
type Registry struct {
	reg  name.Registry
	base http.RoundTripper // the guarded transport, classifying rate limits
	now  func() time.Time
	auth authCache
	// oversize is the last tags/list answer larger than asked (tags.go).
	oversize oversizeAnswer
}

// Option changes how New builds the core.
type Option func(*options)

type options struct{ pathPrefix bool }

// PathPrefix keeps the path of the base URL as a prefix of every v2 path
// (a registry served behind a reverse proxy under /prefix/v2/):
// go-containerregistry names a registry by host alone, so the guarded
// transport adds the prefix to each request for this host.
func PathPrefix() Option { return func(o *options) { o.pathPrefix = true } }

// New builds the v2 core for a registry base URL (scheme and host; v2 has
// no path prefix unless PathPrefix is given) on the runtime's guarded
// client.
func New(in connectors.Instance, base *url.URL, opts ...Option) (*Registry, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if in.HTTP == nil {
		return nil, resilience.New(resilience.InvalidConfig,
			"no HTTP client was given to the %s connector: connectors are built by the runtime, which supplies the guarded client",
			in.Integration.TypeID)
	}
	prefix := strings.TrimSuffix(base.Path, "/")
	if prefix != "" && !o.pathPrefix {
		return nil, resilience.New(resilience.InvalidConfig, "the registry API v2 lives at the root of its host: drop the path %q from the URL", base.Path)
	}
	var nopts []name.Option
	if base.Scheme == "http" {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(base.Host, append(nopts, name.StrictValidation)...)
	if err != nil {
		return nil, resilience.New(resilience.InvalidConfig, "the registry host %q is not a registry name", base.Host)
	}
	r := &Registry{reg: reg, now: time.Now}
	if err := r.auth.init(); err != nil {
		return nil, err
	}
	hc := in.HTTP.HTTPClient()
	lt := &limitTransport{next: hc.Transport, now: r.clock, timeout: hc.Timeout, host: reg.RegistryStr(), prefix: prefix}
	if base.Scheme == "http" {
		lt.plainHost = reg.RegistryStr()
	}
	r.base = lt
	return r, nil
}

func (r *Registry) clock() time.Time { return r.now() }

// SetClock replaces the clock that ages cached tokens and reads
// Retry-After dates (tests move it forward). Call it before any request.
func (r *Registry) SetClock(now func() time.Time) { r.now = now }

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

// Ping sends GET /v2/ without credentials: any answer of the API, a 401
// challenge included, proves the registry is reachable. The challenge it
// reads replaces the cached one.
func (r *Registry) Ping(ctx context.Context) error {
	_, err := r.challenge(ctx, true)
	return err
}

// Authenticate runs the auth flow for a repository's pull scope (the
// registry scope when repo is ""), then GET /v2/ with the result: it proves
// the credentials without reading anything. The token is fetched now, never
// taken from the cache: the check must prove the credentials today.
func (r *Registry) Authenticate(ctx context.Context, auth Auth, repo string) error {
	scope := "registry:catalog:*"
	if repo != "" {
		ref, err := r.Repository(repo)
		if err != nil {
			return err
		}
		scope = ref.Scope(transport.PullScope)
	}
	t, err := r.transport(ctx, auth, true, scope)
	if err != nil {
		return err
	}
	return r.get(ctx, t, auth, "authenticate to the registry", "/v2/", nil, nil)
}
