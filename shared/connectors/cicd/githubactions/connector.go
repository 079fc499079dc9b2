package githubactions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxBody bounds a JSON answer read into memory.
const maxBody = 16 << 20

// secondaryWait is GitHub's rule for a secondary rate limit that names no
// wait: "wait for at least one minute before retrying".
const secondaryWait = time.Minute

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
	http             *httpx.Client
	ownsHTTP         bool
	now              func() time.Time
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
	api, err := parseBaseURL(cfg.String("url"))
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
		api: api, repoPath: "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo),
		returnRunDetails: cfg.Bool("returnRunDetails"),
		credentialRef:    in.Integration.CredentialRef, credentials: in.Credentials,
		http: in.HTTP, now: time.Now,
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
// fragment; a path (/api/v3 of GitHub Enterprise Server) is kept.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
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

// Close releases idle connections when the connector built its own client.
func (c *Connector) Close() error {
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// request is one API call; path is escaped.
type request struct {
	method    string
	path      string
	query     url.Values
	body      any
	anonymous bool
}

// send makes r with GitHub's headers and returns the response whatever its
// status; the caller drains it.
func (c *Connector) send(ctx context.Context, r request) (*http.Response, error) {
	token := ""
	if !r.anonymous {
		var err error
		if token, err = c.token(ctx); err != nil {
			return nil, err
		}
	}
	target := c.api.String() + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "encode the request body")
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "build a GitHub request")
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.http.Do(req)
}

// call sends r and decodes a 2xx JSON answer into out (nil: none wanted).
func (c *Connector) call(ctx context.Context, what string, r request, out any) (*http.Response, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer drain(resp)
	if err := c.check(resp); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
			return nil, resilience.Wrap(resilience.UpstreamError, err, "%s: the answer is not GitHub's JSON", what)
		}
	}
	return resp, nil
}

// check is httpx.CheckResponse plus GitHub's secondary rate limit without
// headers: a 403 or 429 whose message says so waits a minute.
func (c *Connector) check(resp *http.Response) error {
	err := httpx.CheckResponse(resp, c.now())
	if err == nil {
		return nil
	}
	var coded *resilience.Error
	if !errors.As(err, &coded) || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) || coded.RetryAfter > 0 {
		return err
	}
	var answer struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&answer)
	if m := strings.ToLower(answer.Message); strings.Contains(m, "secondary rate limit") || strings.Contains(m, "abuse detection") {
		return &resilience.Error{Code: resilience.RateLimited, RetryAfter: secondaryWait,
			Message: coded.Message + fmt.Sprintf(" (secondary rate limit: retry after %s)", secondaryWait)}
	}
	return err
}

// token resolves the credential reference for one call; "" when the
// integration has none.
func (c *Connector) token(ctx context.Context) (string, error) {
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
		return "", fmt.Errorf("resolve the GitHub token: %w", err)
	}
	token, err := secret.Token()
	if err != nil {
		return "", resilience.New(resilience.InvalidConfig, "the GitHub credentials hold no token (key token, access_token or value)")
	}
	if strings.ContainsAny(token, "\r\n ") {
		return "", resilience.New(resilience.InvalidConfig, "the GitHub token holds whitespace")
	}
	return token, nil
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
func (c *Connector) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (string, error) {
	if !workflowName.MatchString(pipeline) {
		return "", resilience.New(resilience.InvalidConfig, "the pipeline to trigger must be a workflow file name (deploy.yml) or id")
	}
	if ref == "" {
		var repo struct {
			DefaultBranch string `json:"default_branch"`
		}
		if _, err := c.call(ctx, "read the repository", request{method: http.MethodGet, path: c.repoPath}, &repo); err != nil {
			return "", err
		}
		if ref = repo.DefaultBranch; ref == "" {
			return "", resilience.New(resilience.InvalidConfig, "the repository has no default branch: give a ref")
		}
	}
	body := map[string]any{"ref": ref}
	if len(params) > 0 {
		body["inputs"] = params
	}
	if c.returnRunDetails {
		body["return_run_details"] = true
	}
	var run struct {
		WorkflowRunID int64 `json:"workflow_run_id"`
	}
	what := fmt.Sprintf("dispatch workflow %s on %s", pipeline, ref)
	resp, err := c.call(ctx, what, request{method: http.MethodPost, path: c.repoPath + "/actions/workflows/" + url.PathEscape(pipeline) + "/dispatches", body: body}, &run)
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusNoContent || run.WorkflowRunID == 0 {
		return "", nil
	}
	return fmt.Sprint(run.WorkflowRunID), nil
}

// drain reads what is left of a small body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
