package circleci

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci/spec"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxBody bounds a JSON answer read into memory: CircleCI pages hold tens
// of items.
const maxBody = 8 << 20

// tokenScheme is how CircleCI takes a personal API token.
var tokenScheme = kit.Scheme{Header: "Circle-Token"}

// Connector is the CircleCI connector of one integration revision. It keeps
// no token: each call resolves the credential reference.
type Connector struct {
	base          *url.URL
	web           *url.URL // the web app: app.circleci.com for the cloud
	project       string
	credentialRef string
	credentials   connectors.CredentialSource
	hc            kit.Client
}

var (
	_ connectors.Checker     = (*Connector)(nil)
	_ connectors.Discoverer  = (*Connector)(nil)
	_ connectors.Triggerer   = (*Connector)(nil)
	_ connectors.RunFollower = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	project := cfg.String("projectSlug")
	if !spec.ProjectSlug.MatchString(project) || hasDotSegment(project) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"projectSlug\" is not a CircleCI project slug (vcs/org/project)")
	}
	web := *base
	if strings.EqualFold(base.Hostname(), "circleci.com") {
		web.Host = "app.circleci.com"
	}
	c := &Connector{base: base, web: &web, project: project, credentialRef: in.Integration.CredentialRef, credentials: in.Credentials}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// hasDotSegment reports a slug segment "." or "..", which would climb URL
// paths.
func hasDotSegment(slug string) bool {
	for _, s := range strings.Split(slug, "/") {
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}

// slugPath is a project slug as a path: its three segments, each escaped.
func slugPath(slug string) string {
	return kit.Segments(strings.Split(slug, "/")...)
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// request is one API call; path is escaped and relative to /api/v2.
type request struct {
	method    string
	path      string
	query     url.Values
	body      any
	anonymous bool
}

// call sends r with the token, and decodes a 2xx JSON answer into out.
func (c *Connector) call(ctx context.Context, what string, r request, out any) (*http.Response, error) {
	req := kit.Request{Method: r.method, URL: kit.Endpoint(c.base, "/api/v2"+r.path, r.query), JSON: r.body, MaxBody: maxBody}
	if !r.anonymous {
		var err error
		if req.Auth, err = kit.Credential(ctx, c.credentials, c.credentialRef, "the CircleCI token", []string{connectors.CredToken}, kit.TokenAs(tokenScheme)); err != nil {
			return nil, err
		}
		if req.Auth.IsZero() {
			return nil, resilience.New(resilience.InvalidConfig, "the CircleCI token is missing: set credentialRef")
		}
	}
	return c.hc.CallChecked(ctx, what, req, out, c.hc.Check)
}

// CheckConnectivity reads /api/v2/me without a token: CircleCI answers
// 401 with its JSON message body ({"message": …}), which a login wall or
// another server does not.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	const what = "reach CircleCI"
	resp, err := c.hc.Send(ctx, kit.Request{URL: kit.Endpoint(c.base, "/api/v2/me", nil)})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer kit.Drain(resp)
	if s := resp.StatusCode; s != http.StatusOK && s != http.StatusUnauthorized {
		if err := c.hc.Check(resp); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return resilience.New(resilience.InvalidConfig, "%s: %s answered HTTP %d to /api/v2/me: it is not a CircleCI root URL", what, c.base.Host, s)
	}
	var answer struct {
		Message *string `json:"message"`
		ID      *string `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&answer); err != nil || (answer.Message == nil && answer.ID == nil) {
		return resilience.New(resilience.InvalidConfig, "%s: %s answered /api/v2/me with something other than CircleCI's JSON: it is not a CircleCI root URL", what, c.base.Host)
	}
	return nil
}

// CheckAuthentication reads the token's user.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	var me struct {
		ID string `json:"id"`
	}
	if _, err := c.call(ctx, "authenticate to CircleCI", request{method: http.MethodGet, path: "/me"}, &me); err != nil {
		return err
	}
	if me.ID == "" {
		return resilience.New(resilience.UpstreamError, "authenticate to CircleCI: /me answered without the user's id")
	}
	return nil
}

// CheckFunctionality reads the project.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	_, err := c.call(ctx, "read project "+c.project, request{method: http.MethodGet, path: "/project" + slugPath(c.project)}, nil)
	return err
}
