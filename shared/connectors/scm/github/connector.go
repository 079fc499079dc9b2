package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v75/github"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/githubapi"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/scm/scmkit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the GitHub SCM connector of one integration revision. It
// keeps no token: each request resolves the credential reference.
type Connector struct {
	owner         string
	credentialRef string
	credentials   connectors.CredentialSource
	hc            kit.Client
	api           *gh.Client // authenticated requests
	probe         *gh.Client // the anonymous connectivity probe
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	// A path (/api/v3 of GitHub Enterprise Server) is kept; go-github wants
	// the base with a trailing slash.
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	base.Path = strings.TrimSuffix(base.Path, "/") + "/"
	base.RawPath = ""
	c := &Connector{owner: cfg.String("owner"), credentialRef: in.Integration.CredentialRef, credentials: in.Credentials}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	// The checks read c.hc at call time, so a test's clock applies.
	c.api = newSDK(c.hc.SDKClient(c.token, func(resp *http.Response) error { return githubapi.Check(c.hc, resp) }), base)
	// The probe sends no token; its 401 reaches go-github (CheckConnectivity
	// reads it as the API answering).
	c.probe = newSDK(c.hc.SDKClient(nil, func(resp *http.Response) error {
		if resp.StatusCode == http.StatusUnauthorized {
			return nil
		}
		return githubapi.Check(c.hc, resp)
	}), base)
	return c, nil
}

func newSDK(hc *http.Client, base *url.URL) *gh.Client {
	client := gh.NewClient(hc)
	client.BaseURL = base
	return client
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// token resolves the credential for one request.
func (c *Connector) token(ctx context.Context) (kit.Auth, error) {
	return githubapi.Token(ctx, c.credentials, c.credentialRef)
}

// sdkError reads an error go-github returned (kit.SDKError), and its guard
// against calling during a known rate limit as RATE_LIMITED until the reset.
func (c *Connector) sdkError(what string, err error) error {
	var primary *gh.RateLimitError
	if errors.As(err, &primary) {
		wait := max(primary.Rate.Reset.Sub(c.hc.Now()), 0)
		return &resilience.Error{Code: resilience.RateLimited, RetryAfter: wait,
			Message: fmt.Sprintf("%s: GitHub's rate limit is spent until %s", what, primary.Rate.Reset.UTC().Format("15:04:05Z"))}
	}
	var secondary *gh.AbuseRateLimitError
	if errors.As(err, &secondary) {
		wait := githubapi.SecondaryWait
		if secondary.RetryAfter != nil {
			wait = *secondary.RetryAfter
		}
		return &resilience.Error{Code: resilience.RateLimited, RetryAfter: wait,
			Message: fmt.Sprintf("%s: GitHub's secondary rate limit (retry after %s)", what, wait)}
	}
	return kit.SDKError(what, err)
}

// CheckConnectivity reads the API root without a token: any answer of the
// API passes, 401 included (a private GitHub Enterprise Server asks
// anonymous callers for credentials).
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	req, err := c.probe.NewRequest(http.MethodGet, "", nil)
	if err != nil {
		return resilience.Wrap(resilience.InvalidConfig, err, "reach the GitHub API")
	}
	_, err = c.probe.Do(ctx, req, nil)
	var answer *gh.ErrorResponse
	if errors.As(err, &answer) && answer.Response != nil && answer.Response.StatusCode == http.StatusUnauthorized {
		return nil
	}
	return c.sdkError("reach the GitHub API", err)
}

// CheckAuthentication reads the token's user: 401 is a token GitHub does
// not know (or none). A 403 that is not a rate limit comes from a GitHub
// App installation token, which is valid but has no user.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	user, _, err := c.api.Users.Get(ctx, "")
	err = c.sdkError("authenticate to GitHub", err)
	switch {
	case resilience.CodeOf(err) == resilience.PermissionDenied:
		return nil
	case err == nil && user.GetLogin() == "":
		return resilience.New(resilience.UpstreamError, "authenticate to GitHub: /user answered without a login")
	}
	return err
}

// CheckFunctionality lists one repository of the owner (of the token's user
// when none is configured): a real read the discovery depends on.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	return scmkit.CheckRepositories(ctx, c.repositories)
}
