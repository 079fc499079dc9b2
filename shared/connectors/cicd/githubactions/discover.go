package githubactions

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strconv"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// perPage is GitHub's maximum; every page of a listing uses it so a
	// page-number cursor stays valid whatever page size a caller asks for.
	perPage = "100"
	// maxListRequests bounds the GitHub pages one Discover call reads while
	// a name filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// workflowsAnswer is the body of GET .../actions/workflows.
type workflowsAnswer struct {
	TotalCount int        `json:"total_count"`
	Workflows  []workflow `json:"workflows"`
}

type workflow struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Path    string `json:"path"`
	State   string `json:"state"`
	HTMLURL string `json:"html_url"`
}

// runsAnswer is the body of GET .../actions/runs and .../workflows/{id}/runs.
type runsAnswer struct {
	WorkflowRuns []struct {
		ID int64 `json:"id"`
	} `json:"workflow_runs"`
}

// jobsAnswer is the body of GET .../actions/runs/{run_id}/jobs.
type jobsAnswer struct {
	Jobs []struct {
		ID           int64  `json:"id"`
		RunID        int64  `json:"run_id"`
		RunAttempt   int    `json:"run_attempt"`
		Name         string `json:"name"`
		WorkflowName string `json:"workflow_name"`
		HeadBranch   string `json:"head_branch"`
		Status       string `json:"status"`
		Conclusion   string `json:"conclusion"`
		HTMLURL      string `json:"html_url"`
		StartedAt    string `json:"started_at"`
		CompletedAt  string `json:"completed_at"`
	} `json:"jobs"`
}

// listing is one paginated endpoint and how its items become resources.
type listing struct {
	path  string // escaped
	first url.Values
	fetch func(ctx context.Context, r request) ([]contracts.Resource, http.Header, error)
}

// cursor is where a listing continues (the query of a GitHub page and how
// many of its items an earlier Discover returned) and the run whose jobs
// these are, so every page reads the same run.
type cursor struct {
	kit.Position
	Run int64 `json:"r,omitempty"`
}

func (c cursor) valid() bool { return c.Position.Valid() && c.Run >= 0 }

// Discover implements connectors.Discoverer: workflows, or the jobs of the
// latest run.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cur, err := kit.DecodeCursor(q.Cursor, cursor.valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	switch q.ResourceType {
	case ResourcePipelines:
		return c.collect(ctx, c.workflows(), cur, q, pattern)
	case ResourceJobs:
		if cur.Run == 0 {
			if cur.Run, err = c.latestRun(ctx, q.Filter.Repository); err != nil || cur.Run == 0 {
				return connectors.DiscoveryPage{Items: []contracts.Resource{}}, err
			}
		}
		return c.collect(ctx, c.jobs(cur.Run), cur, q, pattern)
	}
	return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
		"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourcePipelines, ResourceJobs)
}

// collect reads one discovery page of l from cur: GitHub pages until size
// resources match, the listing ends, or maxListRequests pages were read. A
// workflow also matches by its file name.
func (c *Connector) collect(ctx context.Context, l listing, cur cursor, q connectors.DiscoveryQuery, pattern kit.Pattern) (connectors.DiscoveryPage, error) {
	keep := func(r contracts.Resource) bool {
		file, _ := r.Attributes["file"].(string)
		return pattern.Match(r.Name) || (file != "" && pattern.Match(file))
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests, StopOnEmpty: true}
	items, next, err := kit.Collect(ctx, collector, cur.Position, keep,
		kit.QueryPages(l.first, url.Values{"per_page": {perPage}},
			func(ctx context.Context, query url.Values) ([]contracts.Resource, http.Header, error) {
				return l.fetch(ctx, request{method: http.MethodGet, path: l.path, query: query})
			}, kit.LinkNext))
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: items}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(cursor{Position: *next, Run: cur.Run})
	}
	return page, nil
}

func (c *Connector) workflows() listing {
	return listing{path: c.repoPath + "/actions/workflows", first: url.Values{},
		fetch: func(ctx context.Context, r request) ([]contracts.Resource, http.Header, error) {
			var answer workflowsAnswer
			resp, err := c.call(ctx, "list workflows", r, &answer)
			if err != nil {
				return nil, nil, err
			}
			out := make([]contracts.Resource, 0, len(answer.Workflows))
			for _, w := range answer.Workflows {
				out = append(out, contracts.Resource{Type: ResourcePipelines, Name: w.Name, ID: strconv.FormatInt(w.ID, 10), Attributes: map[string]any{
					"path": w.Path, "file": path.Base(w.Path), "state": w.State, "htmlUrl": w.HTMLURL,
				}})
			}
			return out, resp.Header, nil
		}}
}

func (c *Connector) jobs(run int64) listing {
	what := "list the jobs of run " + strconv.FormatInt(run, 10)
	return listing{path: c.repoPath + "/actions/runs/" + strconv.FormatInt(run, 10) + "/jobs", first: url.Values{"filter": {"latest"}},
		fetch: func(ctx context.Context, r request) ([]contracts.Resource, http.Header, error) {
			var answer jobsAnswer
			resp, err := c.call(ctx, what, r, &answer)
			if err != nil {
				return nil, nil, err
			}
			out := make([]contracts.Resource, 0, len(answer.Jobs))
			for _, j := range answer.Jobs {
				out = append(out, contracts.Resource{Type: ResourceJobs, Name: j.Name, ID: strconv.FormatInt(j.ID, 10), Attributes: map[string]any{
					"runId": strconv.FormatInt(j.RunID, 10), "runAttempt": j.RunAttempt, "workflowName": j.WorkflowName,
					"headBranch": j.HeadBranch, "status": j.Status, "conclusion": j.Conclusion, "htmlUrl": j.HTMLURL,
					"startedAt": j.StartedAt, "completedAt": j.CompletedAt,
				}})
			}
			return out, resp.Header, nil
		}}
}

// latestRun returns the id of the newest run of the named workflow, else
// of the repository; 0 when there is none.
func (c *Connector) latestRun(ctx context.Context, wf string) (int64, error) {
	p, what := c.repoPath+"/actions/runs", "find the latest workflow run"
	if wf != "" {
		if !workflowName.MatchString(wf) {
			return 0, resilience.New(resilience.InvalidConfig, "filter.repository must name a workflow: its file name (ci.yml) or id")
		}
		p, what = c.repoPath+"/actions/workflows/"+url.PathEscape(wf)+"/runs", "find the latest run of workflow "+wf
	}
	var answer runsAnswer
	if _, err := c.call(ctx, what, request{method: http.MethodGet, path: p, query: url.Values{"per_page": {"1"}}}, &answer); err != nil {
		return 0, err
	}
	if len(answer.WorkflowRuns) == 0 {
		return 0, nil
	}
	return answer.WorkflowRuns[0].ID, nil
}
