package githubactions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/githubapi"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

var (
	workflowName = regexp.MustCompile(`^(?:[0-9]{1,20}|[A-Za-z0-9._-]{1,200}\.ya?ml)$`)
)

// Connector is the GitHub Actions connector of one integration revision. It
// keeps no token: each call resolves the credential reference.
type Connector struct {
	api              *url.URL
	repoPath         string // escaped /repos/{owner}/{repo}
	returnRunDetails bool
	credentialRef    string
	credentials      connectors.CredentialSource
	hc               kit.Client
	claimed          claims
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ connectors.Triggerer  = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	// A path (/api/v3 of GitHub Enterprise Server) is kept.
	api, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	owner, repo := cfg.String("owner"), cfg.String("repo")
	if !ownerName.MatchString(owner) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"owner\" is not a GitHub user or organization name")
	}
	if !repoName.MatchString(repo) || repo == "." || repo == ".." {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"repo\" is not a GitHub repository name")
	}
	c := &Connector{
		api: api, repoPath: kit.Segments("repos", owner, repo),
		returnRunDetails: cfg.Bool("returnRunDetails"),
		credentialRef:    in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// request is one API call; path is escaped.
type request struct {
	method    string
	path      string
	query     url.Values
	body      any
	anonymous bool
	done      []int // error statuses that mean the call's work is done
}

// call sends r with GitHub's headers and the token, and decodes a 2xx JSON
// answer into out (nil or a 204: nothing decoded).
func (c *Connector) call(ctx context.Context, what string, r request, out any) (*http.Response, error) {
	req := kit.Request{Method: r.method, URL: kit.Endpoint(c.api, r.path, r.query), JSON: r.body,
		Accept: "application/vnd.github+json", Header: http.Header{"X-Github-Api-Version": {APIVersion}}}
	if !r.anonymous {
		var err error
		if req.Auth, err = c.token(ctx); err != nil {
			return nil, err
		}
	}
	check := c.check
	if len(r.done) > 0 {
		check = func(resp *http.Response) error {
			if slices.Contains(r.done, resp.StatusCode) {
				return nil
			}
			return c.check(resp)
		}
	}
	return c.hc.CallChecked(ctx, what, req, out, check)
}

// check classifies an answer by GitHub's rules (githubapi.Check), on the
// connector's clock.
func (c *Connector) check(resp *http.Response) error { return githubapi.Check(c.hc, resp) }

// token resolves the credential reference for one call (githubapi.Token).
func (c *Connector) token(ctx context.Context) (kit.Auth, error) {
	return githubapi.Token(ctx, c.credentials, c.credentialRef)
}

// CheckConnectivity reads the API root without a token.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.call(ctx, "reach the GitHub API", request{method: http.MethodGet, path: "/", anonymous: true}, nil)
	return err
}

// CheckAuthentication reads the token's user: 401 is a token GitHub does
// not know (or none). A 403 that is not a rate limit comes from a GitHub
// App installation token, which is valid but has no user.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	_, err := c.call(ctx, "authenticate to GitHub", request{method: http.MethodGet, path: "/user"}, nil)
	if resilience.CodeOf(err) == resilience.PermissionDenied {
		return nil
	}
	return err
}

// CheckFunctionality lists one workflow: the repository exists, the token
// may read its Actions.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	var answer workflowsAnswer
	_, err := c.call(ctx, "list workflows", request{method: http.MethodGet, path: c.repoPath + "/actions/workflows",
		query: url.Values{"per_page": {"1"}}}, &answer)
	return err
}

// Trigger dispatches the workflow pipeline (a file name such as
// deploy.yml, or a workflow id) on ref, else the repository's default
// branch, with params as its inputs. It returns the run id when GitHub
// gives it (returnRunDetails), else "".
func (c *Connector) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (connectors.RunRef, error) {
	if !workflowName.MatchString(pipeline) {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the pipeline to trigger must be a workflow file name (deploy.yml) or id")
	}
	if ref == "" {
		var repo struct {
			DefaultBranch string `json:"default_branch"`
		}
		if _, err := c.call(ctx, "read the repository", request{method: http.MethodGet, path: c.repoPath}, &repo); err != nil {
			return connectors.RunRef{}, err
		}
		if ref = repo.DefaultBranch; ref == "" {
			return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the repository has no default branch: give a ref")
		}
	}
	body := map[string]any{"ref": ref}
	if len(params) > 0 {
		body["inputs"] = params
	}
	if c.returnRunDetails {
		body["return_run_details"] = true
	}
	since := time.Now()
	var run struct {
		WorkflowRunID int64 `json:"workflow_run_id"`
	}
	what := fmt.Sprintf("dispatch workflow %s on %s", pipeline, ref)
	resp, err := c.call(ctx, what, request{method: http.MethodPost, path: c.repoPath + "/actions/workflows/" + url.PathEscape(pipeline) + "/dispatches", body: body}, &run)
	if err != nil {
		return connectors.RunRef{}, err
	}
	out := connectors.RunRef{Pipeline: pipeline, Ref: ref, Since: since}
	if resp.StatusCode != http.StatusNoContent && run.WorkflowRunID != 0 {
		out.ID = fmt.Sprint(run.WorkflowRunID)
	}
	return out, nil
}
