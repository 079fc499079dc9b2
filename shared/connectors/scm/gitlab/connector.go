package gitlab

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the SCM role's connector of one integration revision.
type Connector struct{ *client }

// CIConnector is the CI/CD role's connector of one integration revision.
type CIConnector struct {
	*client
	project       string
	defaultBranch string
}

var (
	_ connectors.Checker     = (*Connector)(nil)
	_ connectors.Discoverer  = (*Connector)(nil)
	_ connectors.Checker     = (*CIConnector)(nil)
	_ connectors.Discoverer  = (*CIConnector)(nil)
	_ connectors.Triggerer   = (*CIConnector)(nil)
	_ connectors.RunFollower = (*CIConnector)(nil)
)

// NewSCM builds the SCM connector; a config that cannot work is an
// INVALID_CONFIG error.
func NewSCM(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	c, err := newClient(in)
	if err != nil {
		return nil, err
	}
	return &Connector{client: c}, nil
}

// NewCI builds the CI/CD connector; a config that cannot work is an
// INVALID_CONFIG error.
func NewCI(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(ciDecl, in.Integration.Config)
	project := cfg.String("projectId")
	if !validProject(project) {
		return nil, resilience.New(resilience.InvalidConfig,
			"config field \"projectId\" must be a project id (42) or path (mygroup/myapp)")
	}
	c, err := newClient(in)
	if err != nil {
		return nil, err
	}
	return &CIConnector{client: c, project: project, defaultBranch: cfg.String("defaultBranch")}, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// Close holds nothing: the runtime owns the HTTP client.
func (c *CIConnector) Close() error { return nil }

// CheckConnectivity probes /api/v4/version without a token.
func (c *Connector) CheckConnectivity(ctx context.Context) error { return c.checkConnectivity(ctx) }

// CheckAuthentication reads the token's user.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	return c.checkAuthentication(ctx)
}

// CheckFunctionality lists one project the user is a member of.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	l := projectsListing(ResourceProjects)
	q := cloneValues(l.first)
	q.Set("per_page", "1")
	_, _, err := l.parse(c.client, ctx, request{method: http.MethodGet, path: l.path, query: q}, l.what)
	return err
}

// Discover implements connectors.Discoverer: projects or repositories.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	if q.ResourceType != ResourceProjects && q.ResourceType != ResourceRepositories {
		return connectors.DiscoveryPage{}, unsupported(ProviderID, q.ResourceType, ResourceProjects, ResourceRepositories)
	}
	return c.discover(ctx, projectsListing(q.ResourceType), q)
}

// CheckConnectivity probes /api/v4/version without a token.
func (c *CIConnector) CheckConnectivity(ctx context.Context) error { return c.checkConnectivity(ctx) }

// CheckAuthentication reads the token's user.
func (c *CIConnector) CheckAuthentication(ctx context.Context) error {
	return c.checkAuthentication(ctx)
}

// CheckFunctionality lists one pipeline of the project: the project exists
// and the token may read its CI/CD.
func (c *CIConnector) CheckFunctionality(ctx context.Context) error {
	l := pipelinesListing(c.project)
	q := cloneValues(l.first)
	q.Set("per_page", "1")
	_, _, err := l.parse(c.client, ctx, request{method: http.MethodGet, path: l.path, query: q}, l.what)
	return err
}

// Discover implements connectors.Discoverer: pipelines or jobs of the
// project (filter.repository names another project).
func (c *CIConnector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	project, err := c.projectOf(q.Filter.Repository)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	switch q.ResourceType {
	case ResourcePipelines:
		return c.discover(ctx, pipelinesListing(project), q)
	case ResourceJobs:
		return c.discover(ctx, jobsListing(project), q)
	}
	return connectors.DiscoveryPage{}, unsupported(CIProviderID, q.ResourceType, ResourcePipelines, ResourceJobs)
}

// projectOf returns the named project, else the configured one.
func (c *CIConnector) projectOf(name string) (string, error) {
	if name == "" {
		return c.project, nil
	}
	if !validProject(name) {
		return "", resilience.New(resilience.InvalidConfig, "%q is not a GitLab project id or group/project path", name)
	}
	return name, nil
}

// variableKey is GitLab's CI/CD variable key grammar.
var variableKey = regexp.MustCompile(`^[A-Za-z0-9_]{1,255}$`)

// pipelineVariable is one entry of the create-pipeline variables array.
type pipelineVariable struct {
	Key          string `json:"key"`
	Value        string `json:"value"`
	VariableType string `json:"variable_type"`
}

// Trigger creates a pipeline (POST /projects/:id/pipeline) on ref, else
// defaultBranch, else the project's default branch, with params as
// env_var variables. pipeline names another project; "" is the configured
// one. It returns the pipeline id.
func (c *CIConnector) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (connectors.RunRef, error) {
	project, err := c.projectOf(pipeline)
	if err != nil {
		return connectors.RunRef{}, err
	}
	if ref == "" {
		ref = c.defaultBranch
	}
	if ref == "" {
		if ref, err = c.projectDefaultBranch(ctx, project); err != nil {
			return connectors.RunRef{}, err
		}
	}
	vars := make([]pipelineVariable, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !variableKey.MatchString(k) {
			return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "pipeline variable %q: keys hold only letters, digits and _", k)
		}
		vars = append(vars, pipelineVariable{Key: k, Value: params[k], VariableType: "env_var"})
	}
	body := map[string]any{"ref": ref}
	if len(vars) > 0 {
		body["variables"] = vars
	}
	var created struct {
		ID     int64  `json:"id"`
		WebURL string `json:"web_url"`
	}
	what := fmt.Sprintf("create a pipeline of project %s on %s", project, ref)
	if _, err := c.call(ctx, what, request{method: http.MethodPost, path: projectPath(project) + "/pipeline", body: body}, &created); err != nil {
		return connectors.RunRef{}, err
	}
	if created.ID == 0 {
		return connectors.RunRef{}, resilience.New(resilience.UpstreamError, "%s: GitLab answered without a pipeline id", what)
	}
	return connectors.RunRef{ID: strconv.FormatInt(created.ID, 10), Pipeline: project, Ref: ref, WebURL: created.WebURL}, nil
}

// projectDefaultBranch reads the project's default branch.
func (c *CIConnector) projectDefaultBranch(ctx context.Context, project string) (string, error) {
	var p struct {
		DefaultBranch string `json:"default_branch"`
	}
	what := "read project " + project
	if _, err := c.call(ctx, what, request{method: http.MethodGet, path: projectPath(project), query: url.Values{"simple": {"true"}}}, &p); err != nil {
		return "", err
	}
	if p.DefaultBranch == "" {
		return "", resilience.New(resilience.InvalidConfig,
			"project %s has no default branch (an empty repository): give a ref or set defaultBranch", project)
	}
	return p.DefaultBranch, nil
}
