// Package githubactionsfake is a fake GitHub (the REST API of Actions) for
// the tests of the github-actions connector and for the pipeline flow test
// of the devstack (through cicdtest.Server).
package githubactionsfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/githubapi/githubfake"
	"github.com/stella-ops/inthub/shared/contracts"
)

// GitHub is the part of GitHub's REST API the connector uses, as
// docs.github.com documents it (rest/authentication, rest/using-the-rest-api
// rate-limits-for-the-rest-api, troubleshooting-the-rest-api,
// using-pagination-in-the-rest-api, rest/actions/workflows, workflow-runs,
// workflow-jobs) and the 2026-02-19 changelog (return_run_details):
//
//   - Authorization "Bearer <t>" or "token <t>"; an unknown or malformed
//     one is 401 {"message":"Bad credentials",...} everywhere; no token is
//     anonymous: /user 401 "Requires authentication", a private repository
//     404 "Not Found"; a GitHub App installation token gets 403 "Resource
//     not accessible by integration" on /user;
//   - a request without User-Agent is 403; an X-GitHub-Api-Version GitHub
//     does not know is 400;
//   - every answer carries x-ratelimit-limit/remaining/reset/used/resource;
//     scripted limits answer as GitHub does: primary (403 or 429,
//     remaining 0, reset in epoch seconds), secondary (403 or 429 with
//     Retry-After, or 403 with only the message);
//   - per_page (default 30, max 100) and page, Link rel next/prev/first/last
//     naming /repositories/{id}/... as GitHub's links do;
//   - dispatch: JSON {ref, inputs, return_run_details}; 422 for an unknown
//     ref, unexpected inputs or a workflow without workflow_dispatch; 204,
//     or 200 with the run's ids when return_run_details is true; needs
//     write access (403 "Resource not accessible by personal access token").
//   - runs: GET …/actions/runs/{id} (404 unknown), the workflow's runs
//     filtered by event, branch and created (>=date-time; 422 otherwise),
//     newest first; a dispatch starts a run (status queued → in_progress →
//     completed with a conclusion); POST …/runs/{id}/cancel is 202, 409
//     "Cannot cancel a workflow run that is completed.", 403 without write
//     access.
//
// It counts calls per route.
type GitHub struct {
	srv *httptest.Server
	now time.Time

	mu          sync.Mutex
	tokens      map[string]fakeToken
	workflows   []fakeWorkflow
	runs        []fakeRun // newest first
	branches    []string
	calls       map[string]int
	limits      map[string][]Limit
	limitAll    *Limit // every answer after authentication, when set
	apiVersions []string
	auths       []string
	dispatches  []Dispatch
	verdict     string // conclusion dispatched runs end with; success when unset
	hideRuns    int    // the next listings of a workflow's runs omit new runs (GitHub lists a run a moment after the dispatch)
}

type fakeToken struct {
	installation bool // a GitHub App installation token: no user
	noRepoAccess bool // valid, but the repository is not visible to it
	readOnly     bool
}

type fakeWorkflow struct {
	id       int64
	name     string
	file     string
	dispatch bool     // has a workflow_dispatch trigger
	inputs   []string // its declared inputs
	verdict  string   // conclusion its dispatched runs end with; the fake's when unset
}

// fakeRun is a workflow run. A dispatched one is queued on the first read
// of it (GET …/runs/{id}) and a step on at each later one: in_progress,
// then completed with the fake's verdict. Listed runs with no status are
// completed successes.
type fakeRun struct {
	id, workflow int64
	jobs         int

	status, conclusion string
	reads              int
	created            time.Time
	event, branch      string
}

// state is the run's status and conclusion as GitHub lists them.
func (r *fakeRun) state() (string, any) {
	if r.status == "" {
		return "completed", "success"
	}
	if r.conclusion == "" {
		return r.status, nil
	}
	return r.status, r.conclusion
}

func (f *GitHub) runJSON(r *fakeRun) map[string]any {
	status, conclusion := r.state()
	return map[string]any{"id": r.id, "workflow_id": r.workflow, "status": status, "conclusion": conclusion,
		"event": r.event, "head_branch": r.branch, "created_at": r.created.UTC().Format(time.RFC3339),
		"html_url": fmt.Sprintf("https://github.com/%s/%s/actions/runs/%d", Owner, Repo, r.id)}
}

func (f *GitHub) findRun(id string) *fakeRun {
	for i := range f.runs {
		if strconv.FormatInt(f.runs[i].id, 10) == id {
			return &f.runs[i]
		}
	}
	return nil
}

// Limit is a scripted rate-limit answer, as GitHub's REST API gives it
// whatever the endpoint (githubfake writes it).
type Limit = githubfake.Limit

// Dispatch is one accepted workflow dispatch.
type Dispatch struct {
	Workflow string
	Ref      string
	Inputs   map[string]string
	Details  bool
}

// The fake's tokens.
const (
	UserToken    = "ghp_user0123456789abcdefghijklmnopqrstu"
	InstallToken = "ghs_install0123456789abcdefghijklmnopq"
	OtherToken   = "ghp_other0123456789abcdefghijklmnopqrs"
	ReadToken    = "github_pat_read0123456789abcdefghijklm"
	WrongToken   = "ghp_wrong0123456789abcdefghijklmnopqrs"
)

const (
	Owner  = "acme"
	Repo   = "app"
	RepoID = 123456789
)

// New starts a fake GitHub with the repository acme/app (branches main and
// release), the tokens UserToken, InstallToken, OtherToken (no access to
// the repository) and ReadToken (read only), and no workflow; the test's end
// closes it.
func New(t *testing.T) *GitHub {
	t.Helper()
	f := &GitHub{
		now: time.Unix(1_760_000_000, 0),
		tokens: map[string]fakeToken{
			UserToken: {}, InstallToken: {installation: true}, OtherToken: {noRepoAccess: true}, ReadToken: {readOnly: true},
		},
		branches: []string{"main", "release"},
		calls:    map[string]int{}, limits: map[string][]Limit{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// AddWorkflows adds n workflows: ci.yml, deploy.yml (dispatchable, inputs
// target and dry_run), then wf-002.yml … named "Workflow 002" … (every
// tenth a "deploy-…" one).
func (f *GitHub) AddWorkflows(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		w := fakeWorkflow{id: int64(10_000 + i), name: fmt.Sprintf("Workflow %03d", i), file: fmt.Sprintf("wf-%03d.yml", i)}
		switch {
		case i == 0:
			w.name, w.file = "CI", "ci.yml"
		case i == 1:
			w.name, w.file, w.dispatch, w.inputs = "Deploy", "deploy.yml", true, []string{"target", "dry_run"}
		case i%10 == 0:
			w.name = fmt.Sprintf("deploy-%03d", i)
		}
		f.workflows = append(f.workflows, w)
	}
}

// AddRun adds a run of a workflow with n jobs; the last added is the newest.
func (f *GitHub) AddRun(workflow int64, jobs int) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := int64(7_000_000 + len(f.runs))
	f.runs = append([]fakeRun{{id: id, workflow: workflow, jobs: jobs}}, f.runs...)
	return id
}

// URL is the fake's base URL (the connector's url setting).
func (f *GitHub) URL() string { return f.srv.URL }

// Now is the fake's clock, which its rate-limit reset times count from.
func (f *GitHub) Now() time.Time { return f.now }

// SetVerdict sets the conclusion dispatched runs end with ("success",
// "failure"), unless their workflow has its own.
func (f *GitHub) SetVerdict(conclusion string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verdict = conclusion
}

// HideRuns makes the next n listings of a workflow's runs omit the runs
// not read yet, as GitHub lists a run a moment after its dispatch.
func (f *GitHub) HideRuns(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hideRuns = n
}

// runVerdict is the conclusion of run's workflow, if it has one.
func (f *GitHub) runVerdict(run *fakeRun) string {
	for _, wf := range f.workflows {
		if wf.id == run.workflow {
			return wf.verdict
		}
	}
	return ""
}

// LimitNext makes the next answer of route a rate-limit answer.
func (f *GitHub) LimitNext(route string, l Limit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits[route] = append(f.limits[route], l)
}

// LimitEvery makes every following authenticated answer a rate-limit
// answer.
func (f *GitHub) LimitEvery(l Limit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limitAll = &l
}

// Count returns the calls of a route so far.
func (f *GitHub) Count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[route]
}

// Seen returns the X-GitHub-Api-Version headers and Authorization schemes
// of every call so far.
func (f *GitHub) Seen() (versions, auths []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.apiVersions), slices.Clone(f.auths)
}

// Dispatched returns the accepted workflow dispatches, in order.
func (f *GitHub) Dispatched() []Dispatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dispatches)
}

type ghCaller struct{ token *fakeToken }

func (f *GitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	route, params := routeOf(r.Method, r.URL.EscapedPath())
	f.calls[route]++
	f.apiVersions = append(f.apiVersions, r.Header.Get("X-GitHub-Api-Version"))
	f.auths = append(f.auths, strings.SplitN(r.Header.Get("Authorization"), " ", 2)[0])
	if r.Header.Get("User-Agent") == "" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n")
		return
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && v != "2022-11-28" && v != "2026-03-10" {
		githubfake.Error(w, http.StatusBadRequest, "API version "+v+" is not supported.")
		return
	}
	who, ok := f.authenticate(r)
	if !ok {
		githubfake.WriteRateHeaders(w, f.now, 5000, 4999)
		githubfake.Error(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if f.limitAll != nil {
		githubfake.WriteRateLimited(w, f.now, *f.limitAll)
		return
	}
	if q := f.limits[route]; len(q) > 0 {
		f.limits[route] = q[1:]
		githubfake.WriteRateLimited(w, f.now, q[0])
		return
	}
	if who.token == nil {
		githubfake.WriteRateHeaders(w, f.now, 60, 59)
	} else {
		githubfake.WriteRateHeaders(w, f.now, 5000, 4990)
	}
	switch {
	case route == "GET /":
		githubfake.WriteJSON(w, http.StatusOK, map[string]any{"current_user_url": f.srv.URL + "/user", "repository_url": f.srv.URL + "/repos/{owner}/{repo}"})
		return
	case route == "GET /user":
		switch {
		case who.token == nil:
			githubfake.Error(w, http.StatusUnauthorized, "Requires authentication")
		case who.token.installation:
			githubfake.Error(w, http.StatusForbidden, "Resource not accessible by integration")
		default:
			githubfake.WriteJSON(w, http.StatusOK, map[string]any{"login": "octocat", "id": 1, "type": "User"})
		}
		return
	case strings.HasPrefix(route, "GET /repos/") || strings.HasPrefix(route, "POST /repos/"):
	default:
		githubfake.Error(w, http.StatusNotFound, "Not Found")
		return
	}
	// The repository is private: visible to tokens that have access only.
	if params["owner"] != Owner || params["repo"] != Repo || who.token == nil || who.token.noRepoAccess {
		githubfake.Error(w, http.StatusNotFound, "Not Found")
		return
	}
	f.repoRoute(w, r, route, params, who)
}

// routeOf names a route by its pattern and returns its parameters.
func routeOf(method, escaped string) (string, map[string]string) {
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	params := map[string]string{}
	if len(segs) >= 3 && segs[0] == "repos" {
		params["owner"], params["repo"] = segs[1], segs[2]
		rest := segs[3:]
		pattern := []string{"repos", "{owner}", "{repo}"}
		for i, s := range rest {
			switch {
			case i == 2 && len(rest) > 2 && rest[0] == "actions" && rest[1] == "workflows":
				params["workflow_id"] = s
				pattern = append(pattern, "{workflow_id}")
			case i == 2 && len(rest) > 2 && rest[0] == "actions" && rest[1] == "runs":
				params["run_id"] = s
				pattern = append(pattern, "{run_id}")
			default:
				pattern = append(pattern, s)
			}
		}
		return method + " /" + strings.Join(pattern, "/"), params
	}
	return method + " " + escaped, params
}

func (f *GitHub) authenticate(r *http.Request) (ghCaller, bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return ghCaller{}, true
	}
	scheme, token, _ := strings.Cut(v, " ")
	t, ok := f.tokens[token]
	if !ok || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "token")) {
		return ghCaller{}, false
	}
	return ghCaller{&t}, true
}

func (f *GitHub) repoRoute(w http.ResponseWriter, r *http.Request, route string, params map[string]string, who ghCaller) {
	switch route {
	case "GET /repos/{owner}/{repo}":
		githubfake.WriteJSON(w, http.StatusOK, map[string]any{"id": RepoID, "name": Repo, "full_name": Owner + "/" + Repo,
			"private": true, "default_branch": "main"})
	case "GET /repos/{owner}/{repo}/actions/workflows":
		f.paginate(w, r, "/repositories/"+strconv.Itoa(RepoID)+"/actions/workflows", len(f.workflows), "workflows", func(i int) any {
			wf := f.workflows[i]
			return map[string]any{"id": wf.id, "node_id": fmt.Sprintf("W_kwDO%d", wf.id), "name": wf.name, "path": ".github/workflows/" + wf.file,
				"state": "active", "html_url": fmt.Sprintf("https://github.com/%s/%s/blob/main/.github/workflows/%s", Owner, Repo, wf.file),
				"badge_url": fmt.Sprintf("https://github.com/%s/%s/workflows/%s/badge.svg", Owner, Repo, url.PathEscape(wf.name))}
		})
	case "GET /repos/{owner}/{repo}/actions/runs", "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs":
		runs := f.runs
		if id, ok := params["workflow_id"]; ok {
			wf := f.workflow(id)
			if wf == nil {
				githubfake.Error(w, http.StatusNotFound, "Not Found")
				return
			}
			runs = slices.DeleteFunc(slices.Clone(runs), func(run fakeRun) bool { return run.workflow != wf.id })
		}
		runs, ok := f.filterRuns(w, r, runs)
		if !ok {
			return
		}
		f.paginate(w, r, "/repositories/"+strconv.Itoa(RepoID)+"/actions/runs", len(runs), "workflow_runs", func(i int) any {
			return f.runJSON(&runs[i])
		})
	case "GET /repos/{owner}/{repo}/actions/runs/{run_id}":
		run := f.findRun(params["run_id"])
		if run == nil {
			githubfake.Error(w, http.StatusNotFound, "Not Found")
			return
		}
		// The first read finds it queued; each later one a step on.
		switch {
		case run.reads == 0:
		case run.status == "queued":
			run.status = "in_progress"
		case run.status == "in_progress":
			run.status, run.conclusion = "completed", cmp.Or(f.runVerdict(run), f.verdict, "success")
		}
		run.reads++
		githubfake.WriteJSON(w, http.StatusOK, f.runJSON(run))
	case "POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel":
		if who.token.readOnly {
			githubfake.Error(w, http.StatusForbidden, "Resource not accessible by personal access token")
			return
		}
		run := f.findRun(params["run_id"])
		switch {
		case run == nil:
			githubfake.Error(w, http.StatusNotFound, "Not Found")
		case run.status == "" || run.status == "completed":
			githubfake.Error(w, http.StatusConflict, "Cannot cancel a workflow run that is completed.")
		default:
			run.status, run.conclusion = "completed", "cancelled"
			githubfake.WriteJSON(w, http.StatusAccepted, map[string]any{})
		}
	case "GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs":
		run := f.findRun(params["run_id"])
		if run == nil {
			githubfake.Error(w, http.StatusNotFound, "Not Found")
			return
		}
		status, conclusion := run.state()
		f.paginate(w, r, "/repositories/"+strconv.Itoa(RepoID)+"/actions/runs/"+params["run_id"]+"/jobs", run.jobs, "jobs", func(i int) any {
			return map[string]any{"id": run.id*1000 + int64(i), "run_id": run.id, "run_attempt": 1, "name": fmt.Sprintf("job-%03d", i),
				"workflow_name": "CI", "head_branch": "main", "status": status, "conclusion": conclusion,
				"html_url": fmt.Sprintf("https://github.com/%s/%s/actions/runs/%d/job/%d", Owner, Repo, run.id, run.id*1000+int64(i))}
		})
	case "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches":
		f.dispatch(w, r, params["workflow_id"], who)
	default:
		githubfake.Error(w, http.StatusNotFound, "Not Found")
	}
}

func (f *GitHub) workflow(idOrFile string) *fakeWorkflow {
	for i, wf := range f.workflows {
		if strconv.FormatInt(wf.id, 10) == idOrFile || wf.file == idOrFile {
			return &f.workflows[i]
		}
	}
	return nil
}

func (f *GitHub) dispatch(w http.ResponseWriter, r *http.Request, id string, who ghCaller) {
	if who.token.readOnly {
		githubfake.Error(w, http.StatusForbidden, "Resource not accessible by personal access token")
		return
	}
	wf := f.workflow(id)
	if wf == nil {
		githubfake.Error(w, http.StatusNotFound, "Not Found")
		return
	}
	var body struct {
		Ref              string            `json:"ref"`
		Inputs           map[string]string `json:"inputs"`
		ReturnRunDetails bool              `json:"return_run_details"`
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		githubfake.Error(w, http.StatusUnsupportedMediaType, "Unsupported 'Content-Type' header value")
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		githubfake.Error(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	switch {
	case body.Ref == "":
		githubfake.Error(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.")
		return
	case !wf.dispatch:
		githubfake.Error(w, http.StatusUnprocessableEntity, "Workflow does not have 'workflow_dispatch' trigger")
		return
	case !slices.Contains(f.branches, body.Ref):
		githubfake.Error(w, http.StatusUnprocessableEntity, "No ref found for: "+body.Ref)
		return
	}
	var unexpected []string
	for k := range body.Inputs {
		if !slices.Contains(wf.inputs, k) {
			unexpected = append(unexpected, strconv.Quote(k))
		}
	}
	if len(unexpected) > 0 {
		slices.Sort(unexpected)
		githubfake.Error(w, http.StatusUnprocessableEntity, "Unexpected inputs provided: ["+strings.Join(unexpected, ", ")+"]")
		return
	}
	f.dispatches = append(f.dispatches, Dispatch{Workflow: id, Ref: body.Ref, Inputs: body.Inputs, Details: body.ReturnRunDetails})
	run := int64(8_000_000 + len(f.dispatches))
	f.runs = slices.Insert(f.runs, 0, fakeRun{id: run, workflow: wf.id, jobs: 2, status: "queued",
		created: time.Now().UTC().Truncate(time.Second), event: "workflow_dispatch", branch: body.Ref})
	if !body.ReturnRunDetails {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	githubfake.WriteJSON(w, http.StatusOK, map[string]any{"workflow_run_id": run,
		"run_url":  fmt.Sprintf("%s/repos/%s/%s/actions/runs/%d", f.srv.URL, Owner, Repo, run),
		"html_url": fmt.Sprintf("https://github.com/%s/%s/actions/runs/%d", Owner, Repo, run)})
}

// filterRuns applies the list's event, branch and created (>=date-time)
// filters; a created filter GitHub cannot read is 422. Runs created since
// the last listing are left out while hideRuns lasts.
func (f *GitHub) filterRuns(w http.ResponseWriter, r *http.Request, runs []fakeRun) ([]fakeRun, bool) {
	q := r.URL.Query()
	var since time.Time
	if c := q.Get("created"); c != "" {
		t, err := time.Parse(time.RFC3339, strings.TrimPrefix(c, ">="))
		if err != nil || !strings.HasPrefix(c, ">=") {
			githubfake.Error(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'created', \""+c+"\" is not a valid date-time query.")
			return nil, false
		}
		since = t
	}
	hide := f.hideRuns > 0
	if hide {
		f.hideRuns--
	}
	return slices.DeleteFunc(slices.Clone(runs), func(run fakeRun) bool {
		return (q.Has("event") && run.event != q.Get("event")) || (q.Has("branch") && run.branch != q.Get("branch")) ||
			(!since.IsZero() && run.created.Before(since)) || (hide && run.reads == 0 && run.status == "queued")
	}), true
}

// paginate serves page of n items under key with GitHub's Link header.
func (f *GitHub) paginate(w http.ResponseWriter, r *http.Request, linkPath string, n int, key string, item func(int) any) {
	if items, ok := githubfake.Page(w, r, f.srv.URL+linkPath, n, item); ok {
		githubfake.WriteJSON(w, http.StatusOK, map[string]any{"total_count": n, key: items})
	}
}

// The flow test's workflows: dispatchable, with the input the test sends
// (cicdtest.Parameters); runs of the second end failed.
const (
	releaseWorkflow = "release.yml"
	brokenWorkflow  = "broken.yml"
)

// Start is the fake as the pipeline flow test takes it (cicdtest.Server):
// the repository acme/app with ci.yml, deploy.yml and the workflows
// release.yml (runs succeed) and broken.yml (runs fail); a dispatched run
// is queued at its first read, then in_progress, then completed.
func Start(t *testing.T) cicdtest.Server {
	t.Helper()
	f := New(t)
	f.AddWorkflows(2)
	f.mu.Lock()
	var inputs []string
	for k := range cicdtest.Parameters() {
		inputs = append(inputs, k)
	}
	f.workflows = append(f.workflows,
		fakeWorkflow{id: 20_001, name: "Release", file: releaseWorkflow, dispatch: true, inputs: inputs},
		fakeWorkflow{id: 20_002, name: "Broken", file: brokenWorkflow, dispatch: true, inputs: inputs, verdict: "failure"})
	f.mu.Unlock()
	return flow{f}
}

// flow is GitHub as a cicdtest.Server.
type flow struct{ f *GitHub }

// URL is the fake's base URL.
func (s flow) URL() string { return s.f.URL() }

// Integration is a github-actions integration of acme/app with a user's
// token.
func (s flow) Integration(string) (map[string]any, string) {
	return map[string]any{"url": s.f.URL(), "owner": Owner, "repo": Repo}, connectortest.TokenSecret(UserToken)
}

// Pipeline names the flow pipeline whose runs end with verdict.
func (s flow) Pipeline(verdict contracts.PipelineRunStatus) string {
	if verdict == contracts.RunFailed {
		return brokenWorkflow
	}
	return releaseWorkflow
}

// Ref is the branch the flow pipelines run on.
func (s flow) Ref() string { return "main" }

// Started counts the dispatches of workflow pipeline and returns the
// inputs of the last one.
func (s flow) Started(pipeline string) (int, map[string]string) {
	n, params := 0, map[string]string(nil)
	for _, d := range s.f.Dispatched() {
		if d.Workflow == pipeline {
			n, params = n+1, d.Inputs
		}
	}
	return n, params
}
