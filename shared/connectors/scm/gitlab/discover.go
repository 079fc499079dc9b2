package gitlab

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// perPage is GitLab's maximum; every page of a listing uses it so an
	// offset cursor stays valid whatever page size a caller asks for.
	perPage = "100"
	// maxListRequests bounds the GitLab pages one Discover call reads while
	// a name filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// listing is one paginated GitLab endpoint and how its items become
// resources.
type listing struct {
	what  string // for errors: "list projects"
	path  string // escaped
	first url.Values
	parse func(c *client, ctx context.Context, r request, what string) ([]contracts.Resource, http.Header, error)
}

// discover reads one discovery page of l: GitLab pages from the cursor on
// until size resources match, the listing ends, or maxListRequests pages
// were read.
func (c *client) discover(ctx context.Context, l listing, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	start, err := kit.DecodeCursor(q.Cursor, kit.Position.Valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests, StopOnEmpty: true}
	items, next, err := kit.Collect(ctx, collector, start, func(r contracts.Resource) bool { return pattern.MatchPath(r.Name) },
		kit.QueryPages(l.first, url.Values{"per_page": {perPage}},
			func(ctx context.Context, query url.Values) ([]contracts.Resource, http.Header, error) {
				return l.parse(c, ctx, request{method: http.MethodGet, path: l.path, query: query}, l.what)
			}, nextQuery))
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: items}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(*next)
	}
	return page, nil
}

// project is a project of /projects?simple=true.
type project struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	PathWithNamespace string `json:"path_with_namespace"`
	Description       string `json:"description"`
	DefaultBranch     string `json:"default_branch"`
	WebURL            string `json:"web_url"`
	HTTPURLToRepo     string `json:"http_url_to_repo"`
	SSHURLToRepo      string `json:"ssh_url_to_repo"`
	LastActivityAt    string `json:"last_activity_at"`
	Namespace         struct {
		FullPath string `json:"full_path"`
	} `json:"namespace"`
}

// projectsListing lists the projects the token's user is a member of, by
// id ascending with keyset pagination: no offset limit, stable under
// inserts.
func projectsListing(resourceType string) listing {
	return listing{
		what: "list projects",
		path: "/projects",
		first: url.Values{
			"membership": {"true"}, "simple": {"true"}, "archived": {"false"},
			"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"},
		},
		parse: func(c *client, ctx context.Context, r request, what string) ([]contracts.Resource, http.Header, error) {
			var projects []project
			h, err := c.call(ctx, what, r, &projects)
			if err != nil {
				return nil, nil, err
			}
			out := make([]contracts.Resource, 0, len(projects))
			for _, p := range projects {
				out = append(out, projectResource(resourceType, p))
			}
			return out, h, nil
		},
	}
}

func projectResource(resourceType string, p project) contracts.Resource {
	id := strconv.FormatInt(p.ID, 10)
	if resourceType == ResourceRepositories {
		return contracts.Resource{Type: resourceType, Name: p.PathWithNamespace, ID: id, Attributes: map[string]any{
			"projectId": id, "defaultBranch": p.DefaultBranch, "httpUrl": p.HTTPURLToRepo, "sshUrl": p.SSHURLToRepo, "webUrl": p.WebURL,
		}}
	}
	return contracts.Resource{Type: resourceType, Name: p.PathWithNamespace, ID: id, Attributes: map[string]any{
		"name": p.Name, "namespace": p.Namespace.FullPath, "description": p.Description, "defaultBranch": p.DefaultBranch,
		"webUrl": p.WebURL, "lastActivityAt": p.LastActivityAt,
	}}
}

// pipeline is an entry of /projects/:id/pipelines.
type pipeline struct {
	ID        int64  `json:"id"`
	IID       int64  `json:"iid"`
	ProjectID int64  `json:"project_id"`
	Status    string `json:"status"`
	Source    string `json:"source"`
	Ref       string `json:"ref"`
	SHA       string `json:"sha"`
	Name      string `json:"name"`
	WebURL    string `json:"web_url"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func pipelinesListing(project string) listing {
	return listing{
		what:  "list pipelines of project " + project,
		path:  projectPath(project) + "/pipelines",
		first: url.Values{"order_by": {"id"}, "sort": {"desc"}},
		parse: func(c *client, ctx context.Context, r request, what string) ([]contracts.Resource, http.Header, error) {
			var pipelines []pipeline
			h, err := c.call(ctx, what, r, &pipelines)
			if err != nil {
				return nil, nil, err
			}
			out := make([]contracts.Resource, 0, len(pipelines))
			for _, p := range pipelines {
				out = append(out, contracts.Resource{Type: ResourcePipelines, Name: p.Ref, ID: strconv.FormatInt(p.ID, 10), Attributes: map[string]any{
					"project": project, "iid": p.IID, "status": p.Status, "source": p.Source, "sha": p.SHA,
					"pipelineName": p.Name, "webUrl": p.WebURL, "createdAt": p.CreatedAt, "updatedAt": p.UpdatedAt,
				}})
			}
			return out, h, nil
		},
	}
}

// job is an entry of /projects/:id/jobs.
type job struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Stage      string `json:"stage"`
	Status     string `json:"status"`
	Ref        string `json:"ref"`
	WebURL     string `json:"web_url"`
	CreatedAt  string `json:"created_at"`
	FinishedAt string `json:"finished_at"`
	Pipeline   struct {
		ID int64 `json:"id"`
	} `json:"pipeline"`
}

func jobsListing(project string) listing {
	return listing{
		what:  "list jobs of project " + project,
		path:  projectPath(project) + "/jobs",
		first: url.Values{},
		parse: func(c *client, ctx context.Context, r request, what string) ([]contracts.Resource, http.Header, error) {
			var jobs []job
			h, err := c.call(ctx, what, r, &jobs)
			if err != nil {
				return nil, nil, err
			}
			out := make([]contracts.Resource, 0, len(jobs))
			for _, j := range jobs {
				out = append(out, contracts.Resource{Type: ResourceJobs, Name: j.Name, ID: strconv.FormatInt(j.ID, 10), Attributes: map[string]any{
					"project": project, "stage": j.Stage, "status": j.Status, "ref": j.Ref, "pipelineId": strconv.FormatInt(j.Pipeline.ID, 10),
					"webUrl": j.WebURL, "createdAt": j.CreatedAt, "finishedAt": j.FinishedAt,
				}})
			}
			return out, h, nil
		},
	}
}

// unsupported is the error of a resource type a role does not discover.
func unsupported(provider, rt string, supported ...string) error {
	return resilience.New(resilience.NotSupported, "resource type %q: provider %s discovers %v", rt, provider, supported)
}
