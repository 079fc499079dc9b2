package githubactions

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
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
	maxListRequests  = 10
	maxCursorLength  = 4096
	maxPatternLength = 512
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

// cursor is where a listing continues: the query of a GitHub page, how many
// of its items an earlier Discover returned, and the run whose jobs these
// are (so every page reads the same run).
type cursor struct {
	Query string `json:"q"`
	Skip  int    `json:"s,omitempty"`
	Run   int64  `json:"r,omitempty"`
}

// Discover implements connectors.Discoverer: workflows, or the jobs of the
// latest run.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	if err := checkPattern(q.Filter.NamePattern); err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cur, err := decodeCursor(q.Cursor)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	switch q.ResourceType {
	case ResourcePipelines:
		return c.collect(ctx, c.workflows(), cur, q)
	case ResourceJobs:
		if cur.Run == 0 {
			if cur.Run, err = c.latestRun(ctx, q.Filter.Repository); err != nil || cur.Run == 0 {
				return connectors.DiscoveryPage{Items: []contracts.Resource{}}, err
			}
		}
		return c.collect(ctx, c.jobs(cur.Run), cur, q)
	}
	return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
		"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourcePipelines, ResourceJobs)
}

// collect reads one discovery page of l from cur: GitHub pages until size
// resources match, the listing ends, or maxListRequests pages were read.
func (c *Connector) collect(ctx context.Context, l listing, cur cursor, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	query, skip := cloneValues(l.first), cur.Skip
	if cur.Query != "" {
		var err error
		if query, err = url.ParseQuery(cur.Query); err != nil {
			return connectors.DiscoveryPage{}, badCursor()
		}
	}
	size := pageSize(q.PageSize)
	page := connectors.DiscoveryPage{Items: []contracts.Resource{}}
	for n := 1; ; n++ {
		query.Set("per_page", perPage)
		items, header, err := l.fetch(ctx, request{method: http.MethodGet, path: l.path, query: query})
		if err != nil {
			return connectors.DiscoveryPage{}, err
		}
		for i := min(skip, len(items)); i < len(items); i++ {
			if len(page.Items) == size {
				page.NextCursor = encodeCursor(cursor{Query: query.Encode(), Skip: i, Run: cur.Run})
				return page, nil
			}
			if matchesAny(q.Filter.NamePattern, items[i]) {
				page.Items = append(page.Items, items[i])
			}
		}
		skip = 0
		next := nextQuery(header)
		switch {
		case next == nil || len(items) == 0:
			return page, nil
		case len(page.Items) >= size || n >= maxListRequests:
			page.NextCursor = encodeCursor(cursor{Query: next.Encode(), Run: cur.Run})
			return page, nil
		}
		query = next
	}
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

func pageSize(hint int) int {
	switch {
	case hint <= 0:
		return defaultPageSize
	case hint > maxPageSize:
		return maxPageSize
	}
	return hint
}

// nextQuery returns the query of the Link rel="next" target, or nil. Only
// the query is kept: GitHub's links name /repositories/{id}/..., and the
// next request goes to our own endpoint anyway.
func nextQuery(h http.Header) url.Values {
	for _, v := range h.Values("Link") {
		for v != "" {
			start := strings.IndexByte(v, '<')
			end := strings.IndexByte(v, '>')
			if start < 0 || end < start {
				break
			}
			target, params := v[start+1:end], v[end+1:]
			if i := strings.IndexByte(params, '<'); i >= 0 {
				params, v = params[:i], params[i:]
			} else {
				v = ""
			}
			if !relNext(params) {
				continue
			}
			u, err := url.Parse(target)
			if err != nil {
				return nil
			}
			return u.Query()
		}
	}
	return nil
}

// relNext reports whether link parameters (`; rel="next"`) say rel=next.
func relNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(p), ",")), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(value), `"`)) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func badCursor() error {
	return resilience.New(resilience.InvalidConfig, "the discovery cursor is not one this provider issued")
}

// decodeCursor reads a cursor from encodeCursor; "" is the first page.
func decodeCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	if len(s) > maxCursorLength {
		return cursor{}, badCursor()
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, badCursor()
	}
	var c cursor
	if json.Unmarshal(raw, &c) != nil || c.Skip < 0 || c.Run < 0 || c.Query == "" {
		return cursor{}, badCursor()
	}
	if _, err := url.ParseQuery(c.Query); err != nil {
		return cursor{}, badCursor()
	}
	return c, nil
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// checkPattern refuses a malformed or oversized glob up front.
func checkPattern(pattern string) error {
	if len(pattern) > maxPatternLength {
		return resilience.New(resilience.InvalidConfig, "filter.namePattern is longer than %d characters", maxPatternLength)
	}
	if _, err := path.Match(pattern, ""); errors.Is(err, path.ErrBadPattern) {
		return resilience.New(resilience.InvalidConfig, "filter.namePattern is not a valid glob (path.Match syntax)")
	}
	return nil
}

// matchesAny applies a checked glob to a resource's name, and to a
// workflow's file name; "" matches everything.
func matchesAny(pattern string, r contracts.Resource) bool {
	if pattern == "" {
		return true
	}
	if ok, _ := path.Match(pattern, r.Name); ok {
		return true
	}
	if file, _ := r.Attributes["file"].(string); file != "" {
		ok, _ := path.Match(pattern, file)
		return ok
	}
	return false
}
