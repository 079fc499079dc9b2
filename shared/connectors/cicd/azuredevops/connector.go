package azuredevops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/azuredevops/spec"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxBody bounds a JSON answer read into memory: a page of pipelines or a
// run's timeline is well under a few megabytes.
const maxBody = 16 << 20

// Connector is the Azure DevOps connector of one integration revision. It
// keeps no token: each call resolves the credential reference.
type Connector struct {
	base          *url.URL
	orgPath       string // escaped /{organization}
	projectPath   string // escaped /{organization}/{project}
	project       string
	parametersAs  string
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
	// A path (/tfs of Azure DevOps Server) is kept.
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	org, project := cfg.String("organization"), cfg.String("project")
	if !spec.OrgName.MatchString(org) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"organization\" is not an Azure DevOps organization name")
	}
	if err := spec.CheckProject(project); err != nil {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"project\" %s", err.Error())
	}
	c := &Connector{
		base: base, orgPath: kit.Segments(org), projectPath: kit.Segments(org, project), project: project,
		parametersAs:  cfg.String("parametersAs"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// auth resolves the credential reference for one call: a personal access
// token as Basic with an empty user, or a basic credential as it is (Azure
// DevOps ignores its user).
func (c *Connector) auth(ctx context.Context) (kit.Auth, error) {
	const what = "the Azure DevOps credentials"
	if c.credentialRef == "" {
		return kit.Auth{}, resilience.New(resilience.InvalidConfig, "%s are missing: set credentialRef to a personal access token", what)
	}
	secret, err := kit.Resolve(ctx, c.credentials, c.credentialRef, what)
	if err != nil {
		return kit.Auth{}, err
	}
	token := secret.First("token", "access_token", "access-token")
	if v := secret["value"]; token == "" && v != "" && !strings.Contains(v, ":") {
		// A PAT never holds ':'; a value that does is user:token.
		token = v
	}
	if token == "" {
		return kit.FromSecret(secret, what, []string{connectors.CredBasic})
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return kit.Auth{}, resilience.New(resilience.InvalidConfig, "%s hold a control character (a line break?), which no header can carry", what)
	}
	return kit.Basic("", token), nil
}

// request is one API call; path is escaped and relative to the base URL.
type request struct {
	method    string
	path      string
	query     url.Values
	body      any
	anonymous bool
}

// call sends r with api-version 7.1 and the token, and decodes a 2xx JSON
// answer into out.
func (c *Connector) call(ctx context.Context, what string, r request, out any) (*http.Response, error) {
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	q.Set("api-version", APIVersion)
	req := kit.Request{Method: r.method, URL: kit.Endpoint(c.base, r.path, q), JSON: r.body, MaxBody: maxBody,
		// Suppress: a refused token is 401, not a redirect to a sign-in page.
		Header: http.Header{"X-Tfs-Fedauthredirect": {"Suppress"}}}
	if !r.anonymous {
		var err error
		if req.Auth, err = c.auth(ctx); err != nil {
			return nil, err
		}
	}
	return c.hc.CallChecked(ctx, what, req, out, c.check)
}

// check is httpx.CheckResponse plus Azure DevOps' 203: the sign-in page it
// answers a request whose credentials it did not take.
func (c *Connector) check(resp *http.Response) error {
	if resp.StatusCode == http.StatusNonAuthoritativeInfo {
		return resilience.New(resilience.AuthenticationFailed,
			"Azure DevOps answered with its sign-in page (HTTP 203): the personal access token was not accepted")
	}
	return c.hc.Check(resp)
}

// CheckConnectivity reads the project without credentials: any answer
// carrying Azure DevOps' X-VSS-E2EID (or X-TFS-ProcessId) header, 401 and
// 203 included, proves the service is there.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	const what = "reach Azure DevOps"
	resp, err := c.hc.Send(ctx, kit.Request{URL: kit.Endpoint(c.base, c.orgPath+"/_apis/projects/"+url.PathEscape(c.project),
		url.Values{"api-version": {APIVersion}}), Header: http.Header{"X-Tfs-Fedauthredirect": {"Suppress"}}})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer kit.Drain(resp)
	switch s := resp.StatusCode; {
	case s != http.StatusOK && s != http.StatusNonAuthoritativeInfo && s != http.StatusUnauthorized:
		if err := c.hc.Check(resp); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return resilience.New(resilience.UpstreamError, "%s: HTTP %d", what, s)
	case resp.Header.Get("X-VSS-E2EID") == "" && resp.Header.Get("X-TFS-ProcessId") == "":
		// Services send X-VSS-E2EID, Servers (and older TFS) X-TFS-ProcessId.
		return resilience.New(resilience.InvalidConfig,
			"%s: %s answered HTTP %d without Azure DevOps' X-VSS-E2EID or X-TFS-ProcessId header: it is not an Azure DevOps service root", what, c.base.Host, s)
	}
	return nil
}

// CheckAuthentication reads the project with the token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	var project struct {
		ID string `json:"id"`
	}
	_, err := c.call(ctx, "authenticate to Azure DevOps", request{method: http.MethodGet,
		path: c.orgPath + "/_apis/projects/" + url.PathEscape(c.project)}, &project)
	if err == nil && project.ID == "" {
		return resilience.New(resilience.UpstreamError, "authenticate to Azure DevOps: the project answer holds no id")
	}
	return err
}

// CheckFunctionality lists one pipeline of the project.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	var answer pipelinesAnswer
	_, err := c.call(ctx, "list pipelines", request{method: http.MethodGet, path: c.projectPath + "/_apis/pipelines",
		query: url.Values{"$top": {"1"}}}, &answer)
	return err
}
