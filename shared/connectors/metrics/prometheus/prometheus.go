// Package prometheus is the Prometheus provider: health checks over its
// HTTP API and instant and range queries for canary metrics
// (connectors.MetricsQuerier).
//
// It is hand-written over httpx: the official client_golang API client
// would bring its own error types for three GET/POST calls whose errors must
// carry the hub's codes.
package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/metrics/prometheus/spec"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// ProviderID is the provider's type id.
const ProviderID = spec.ProviderID

// Connector is the Prometheus connector of one integration revision. It
// keeps no credential: each call resolves them and drops them when done.
type Connector struct {
	base          *url.URL
	credentialRef string
	credentials   connectors.CredentialSource
	hc            kit.Client
}

var (
	_ connectors.Checker        = (*Connector)(nil)
	_ connectors.MetricsQuerier = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	// A path (Prometheus behind --web.route-prefix) is kept.
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	hc, err := kit.NewClient(in)
	if err != nil {
		return nil, err
	}
	return &Connector{base: base, credentialRef: in.Integration.CredentialRef, credentials: in.Credentials, hc: hc}, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity sends GET /-/healthy without credentials: a 401 from a
// Prometheus behind basic auth proves it answers as well as a 200 does.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach prometheus", kit.Request{URL: kit.Endpoint(c.base, "/-/healthy", nil), Accept: "*/*"})
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
// and must return one series of one point 1.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	res, err := c.Query(ctx, contracts.MetricsQuery{Query: "vector(1)"})
	if err != nil {
		return err
	}
	if len(res.Series) != 1 || len(res.Series[0].Points) != 1 || res.Series[0].Points[0].Value == nil || *res.Series[0].Points[0].Value != 1 {
		return resilience.New(resilience.UpstreamError, "query vector(1) did not return the single value 1")
	}
	return nil
}

// authorization resolves the credential reference for one call: Basic for
// username/password, Bearer for a token, none without a reference.
func (c *Connector) authorization(ctx context.Context) (kit.Auth, error) {
	return kit.Credential(ctx, c.credentials, c.credentialRef, "the prometheus credentials", decl.CredentialTypes)
}
