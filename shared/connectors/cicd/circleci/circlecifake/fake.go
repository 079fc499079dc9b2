// Package circlecifake is a fake CircleCI API v2, written from CircleCI's
// API reference, for the circleci connector's tests and the pipeline flow
// test (cicdtest.Server).
//
// It enforces what the real API does: a personal API token in the
// Circle-Token header (or as the user of Basic); 401 {"message":"You must
// log in first."} without a known one; projects, pipelines and workflows the
// token's user may not see are 404 as if absent; branch and tag are
// exclusive and parameters must be scalars (400); an undeclared pipeline
// parameter or a ref without config creates an errored pipeline, as
// CircleCI does; listings page by next_page_token and page-token, and a
// token the fake did not issue is 400; a throttled request is 429 with
// Retry-After. Error bodies are {"message": …}.
//
// A pipeline moves one state per read of it (GET /pipeline/{id}): queued
// (its workflows running, no job started), running, then its project's
// verdict; cancelling its workflows makes the next read cancelled.
package circlecifake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest/fakehttp"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Projects, tokens and refs of the fake.
const (
	Project       = "gh/acme/web-shop" // pipelines succeed
	BrokenProject = "gh/acme/broken"   // pipelines fail
	OtherProject  = "gh/other/ledger"  // another organization's
	// Token is alice's personal API token: she sees the acme projects.
	Token = "CCIPAT_4Xq9vR2mT7kL1pW8zN3bY6hJ_5e0c9d8b7a6f5e4d3c2b1a09f8e7d6c5b4a3f2e1"
	// OtherToken is mallory's: she sees only the other organization's.
	OtherToken = "CCIPAT_9Zk2wQ7nP4sV8xB1cM6tH3jL_a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4"
)

// project is a project of the fake.
type project struct {
	slug       string
	result     string   // success or failed: how its pipelines end
	parameters []string // declared pipeline parameters
	workflows  []string // workflow names the insights list
	pipelines  []*Pipeline
}

// Pipeline is a pipeline of the fake.
type Pipeline struct {
	ID, Project string
	Number      int64
	Branch, Tag string
	Parameters  map[string]string
	Triggered   bool // by the API (not seeded)
	errors      []map[string]string
	reads       int
	workflows   []*workflow
}

type workflow struct {
	id, name  string
	jobs      []string
	cancelled bool
}

// Server is the fake API.
type Server struct {
	srv *httptest.Server
	// PageSize is the items of a listing page (CircleCI's are 20 or so).
	PageSize int

	mu        sync.Mutex
	projects  map[string]*project
	pipelines map[string]*Pipeline
	workflows map[string]*Pipeline // workflow id → its pipeline
	ids       int
	// Routes counts requests by route ("GET me", "GET project", "POST
	// pipeline", "GET pipelines", "GET pipeline", "GET workflows", "GET jobs",
	// "POST cancel", "GET insights"),
	// refused ones included, and scripts 429s (Throttle, ThrottleAll,
	// Count).
	fakehttp.Routes
}

var _ cicdtest.Server = (*Server)(nil)

// Start starts a fake holding Project, BrokenProject and OtherProject;
// t.Cleanup closes it.
func Start(t testing.TB) *Server {
	f := &Server{PageSize: 20, projects: map[string]*project{}, pipelines: map[string]*Pipeline{}, workflows: map[string]*Pipeline{}}
	for _, p := range []*project{
		{slug: Project, result: "success", parameters: []string{"target", "deploy", "VERSION"}, workflows: []string{"build-deploy", "lint"}},
		{slug: BrokenProject, result: "failed", parameters: []string{"target", "VERSION"}, workflows: []string{"build-deploy", "lint"}},
		{slug: OtherProject, result: "success", workflows: []string{"ledger"}},
	} {
		f.projects[p.slug] = p
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// AddPipelines adds n finished pipelines to Project on branch, oldest first.
func (f *Server) AddPipelines(n int, branch string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		p := f.newPipeline(f.projects[Project], branch, "", nil)
		p.reads = 3
	}
}

// AddWorkflowNames adds workflow names to Project's insights.
func (f *Server) AddWorkflowNames(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.projects[Project].workflows = append(f.projects[Project].workflows, names...)
}

// URL is the CircleCI root (as https://circleci.com).
func (f *Server) URL() string { return f.srv.URL }

// Integration is a config reaching Project with Token.
func (f *Server) Integration(string) (map[string]any, string) {
	return map[string]any{"url": f.srv.URL, "projectSlug": Project}, connectortest.TokenSecret(Token)
}

// Pipeline names the project whose pipelines end with verdict.
func (f *Server) Pipeline(verdict contracts.PipelineRunStatus) string {
	if verdict == contracts.RunFailed {
		return BrokenProject
	}
	return Project
}

// Ref is a branch of every project.
func (f *Server) Ref() string { return "main" }

// Started reports the pipelines the API triggered in project and the
// parameters of the last one.
func (f *Server) Started(slug string) (int, map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.projects[slug]
	if !ok {
		return 0, nil
	}
	n, params := 0, map[string]string(nil)
	for _, pl := range p.pipelines {
		if pl.Triggered {
			n, params = n+1, pl.Parameters
		}
	}
	return n, params
}

// Triggered are the pipelines the API triggered, oldest first.
func (f *Server) Triggered() []Pipeline {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Pipeline
	for _, slug := range []string{Project, BrokenProject, OtherProject} {
		for _, p := range f.projects[slug].pipelines {
			if p.Triggered {
				out = append(out, *p)
			}
		}
	}
	slices.SortFunc(out, func(a, b Pipeline) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (f *Server) uuid(kind int) string {
	f.ids++
	return fmt.Sprintf("%08x-5c1e-4a7b-8d2f-%012x", kind, f.ids)
}

func (f *Server) newPipeline(p *project, branch, tag string, params map[string]string) *Pipeline {
	pl := &Pipeline{ID: f.uuid(1), Project: p.slug, Number: int64(len(p.pipelines) + 1), Branch: branch, Tag: tag, Parameters: params}
	for _, name := range p.workflows[:min(2, len(p.workflows))] {
		w := &workflow{id: f.uuid(2), name: name, jobs: []string{name}}
		if name == "build-deploy" {
			w.jobs = []string{"build", "deploy"}
		}
		pl.workflows = append(pl.workflows, w)
		f.workflows[w.id] = pl
	}
	p.pipelines = append(p.pipelines, pl)
	f.pipelines[pl.ID] = pl
	return pl
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func message(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"message": fmt.Sprintf(format, args...)})
}

// user is who a request's token is: the organizations it may see.
func (f *Server) user(r *http.Request) (orgs []string, id string, ok bool) {
	token := r.Header.Get("Circle-Token")
	if u, _, basic := r.BasicAuth(); token == "" && basic {
		token = u
	}
	switch token {
	case Token:
		return []string{"acme"}, "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b", true
	case OtherToken:
		return []string{"other"}, "0b1a2f3e-4d5c-4b6a-8978-a0b1c2d3e4f5", true
	}
	return nil, "", false
}

func orgOf(slug string) string {
	parts := strings.Split(slug, "/")
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

// route names a request: its route and its parameters.
func route(method, path string) (string, []string) {
	rest, ok := strings.CutPrefix(path, "/api/v2/")
	if !ok {
		return "", nil
	}
	s := strings.Split(rest, "/")
	switch {
	case rest == "me":
		return method + " me", nil
	case s[0] == "project" && len(s) == 4:
		return method + " project", []string{strings.Join(s[1:4], "/")}
	case s[0] == "project" && len(s) == 5 && s[4] == "pipeline":
		if method == http.MethodPost {
			return "POST pipeline", []string{strings.Join(s[1:4], "/")}
		}
		return method + " pipelines", []string{strings.Join(s[1:4], "/")}
	case s[0] == "pipeline" && len(s) == 2:
		return method + " pipeline", s[1:]
	case s[0] == "pipeline" && len(s) == 3 && s[2] == "workflow":
		return method + " workflows", s[1:2]
	case s[0] == "workflow" && len(s) == 3 && s[2] == "job":
		return method + " jobs", s[1:2]
	case s[0] == "workflow" && len(s) == 3 && s[2] == "cancel":
		return method + " cancel", s[1:2]
	case s[0] == "insights" && len(s) == 5 && s[4] == "workflows":
		return method + " insights", []string{strings.Join(s[1:4], "/")}
	}
	return "", nil
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, args := route(r.Method, r.URL.Path)
	if secs, throttled := f.Call(name); throttled {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("X-RateLimit-Limit", "3000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		message(w, http.StatusTooManyRequests, "Rate limit exceeded")
		return
	}
	orgs, userID, ok := f.user(r)
	if !ok {
		message(w, http.StatusUnauthorized, "You must log in first.")
		return
	}
	sees := func(slug string) bool { return slices.Contains(orgs, orgOf(slug)) }
	switch name {
	case "GET me":
		writeJSON(w, http.StatusOK, map[string]string{"id": userID, "login": "release-bot", "name": "Release Bot"})
	case "GET project":
		p := f.project(w, args[0], sees)
		if p == nil {
			return
		}
		parts := strings.Split(p.slug, "/")
		writeJSON(w, http.StatusOK, map[string]any{"slug": p.slug, "name": parts[2], "id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
			"organization_name": parts[1], "organization_slug": parts[0] + "/" + parts[1], "organization_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
			"vcs_info": map[string]string{"vcs_url": "https://github.com/" + parts[1] + "/" + parts[2], "provider": "GitHub", "default_branch": "main"}})
	case "POST pipeline":
		f.trigger(w, r, args[0], sees)
	case "GET pipelines":
		p := f.project(w, args[0], sees)
		if p == nil {
			return
		}
		items := make([]any, 0, len(p.pipelines))
		for i := len(p.pipelines) - 1; i >= 0; i-- {
			if b := r.URL.Query().Get("branch"); b == "" || b == p.pipelines[i].Branch {
				items = append(items, f.pipelineJSON(p.pipelines[i]))
			}
		}
		f.page(w, r, "pipelines|"+p.slug, items)
	case "GET pipeline":
		pl := f.pipeline(w, args[0], sees)
		if pl == nil {
			return
		}
		pl.reads++
		writeJSON(w, http.StatusOK, f.pipelineJSON(pl))
	case "GET workflows":
		pl := f.pipeline(w, args[0], sees)
		if pl == nil {
			return
		}
		items := []any{}
		if pl.errors == nil {
			for _, wf := range pl.workflows {
				items = append(items, map[string]any{"id": wf.id, "name": wf.name, "pipeline_id": pl.ID, "pipeline_number": pl.Number,
					"project_slug": pl.Project, "status": f.workflowStatus(pl, wf), "started_by": userID, "created_at": "2026-12-06T12:00:01Z"})
			}
		}
		f.page(w, r, "workflows|"+pl.ID, items)
	case "GET jobs":
		pl, wf := f.workflow(w, args[0], sees)
		if wf == nil {
			return
		}
		items := []any{}
		for i, j := range wf.jobs {
			items = append(items, map[string]any{"id": fmt.Sprintf("%s-%d", wf.id[:24], i), "name": j, "type": "build",
				"status": f.jobStatus(pl, wf, i), "project_slug": pl.Project, "job_number": i + 1})
		}
		f.page(w, r, "jobs|"+wf.id, items)
	case "POST cancel":
		pl, wf := f.workflow(w, args[0], sees)
		if wf == nil {
			return
		}
		// A finished workflow stays as it ended.
		if pl.phase() < 2 {
			wf.cancelled = true
		}
		message(w, http.StatusAccepted, "Accepted.")
	case "GET insights":
		p := f.project(w, args[0], sees)
		if p == nil {
			return
		}
		items := []any{}
		for i, n := range p.workflows {
			items = append(items, map[string]any{"name": n, "project_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
				"metrics":      map[string]any{"total_runs": 10 + i, "successful_runs": 9, "success_rate": 0.9},
				"window_start": "2026-11-06T12:00:00Z", "window_end": "2026-12-06T12:00:00Z"})
		}
		f.page(w, r, "insights|"+p.slug, items)
	case "":
		message(w, http.StatusNotFound, "Not found.")
	default:
		message(w, http.StatusMethodNotAllowed, "Method not allowed.")
	}
}

// page answers one page of items: page-token is an offset the fake issued
// for this listing.
func (f *Server) page(w http.ResponseWriter, r *http.Request, listing string, items []any) {
	offset := 0
	if tok := r.URL.Query().Get("page-token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		l, n, _ := strings.Cut(string(raw), "#")
		o, err2 := strconv.Atoi(n)
		if err != nil || err2 != nil || l != listing || o <= 0 || o > len(items) {
			message(w, http.StatusBadRequest, "Invalid page-token.")
			return
		}
		offset = o
	}
	end := min(offset+f.PageSize, len(items))
	var next *string
	if end < len(items) {
		tok := base64.RawURLEncoding.EncodeToString([]byte(listing + "#" + strconv.Itoa(end)))
		next = &tok
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items[offset:end], "next_page_token": next})
}

func (f *Server) project(w http.ResponseWriter, slug string, sees func(string) bool) *project {
	p, ok := f.projects[slug]
	if !ok || !sees(slug) {
		message(w, http.StatusNotFound, "Project not found")
		return nil
	}
	return p
}

func (f *Server) pipeline(w http.ResponseWriter, id string, sees func(string) bool) *Pipeline {
	pl, ok := f.pipelines[id]
	if !ok || !sees(pl.Project) {
		message(w, http.StatusNotFound, "Pipeline not found")
		return nil
	}
	return pl
}

func (f *Server) workflow(w http.ResponseWriter, id string, sees func(string) bool) (*Pipeline, *workflow) {
	pl, ok := f.workflows[id]
	if !ok || !sees(pl.Project) {
		message(w, http.StatusNotFound, "Workflow not found")
		return nil, nil
	}
	i := slices.IndexFunc(pl.workflows, func(wf *workflow) bool { return wf.id == id })
	return pl, pl.workflows[i]
}

// branches and tags hold a .circleci/config.yml.
var (
	branches = []string{"main", "release/1.0"}
	tags     = []string{"v1.0.0"}
)

func (f *Server) trigger(w http.ResponseWriter, r *http.Request, slug string, sees func(string) bool) {
	p := f.project(w, slug, sees)
	if p == nil {
		return
	}
	var body struct {
		Branch     *string        `json:"branch"`
		Tag        *string        `json:"tag"`
		Parameters map[string]any `json:"parameters"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		message(w, http.StatusBadRequest, "Invalid request body: %s", strings.ReplaceAll(err.Error(), "json: ", ""))
		return
	}
	if body.Branch != nil && body.Tag != nil {
		message(w, http.StatusBadRequest, "Only one of branch or tag may be specified.")
		return
	}
	params := map[string]string{}
	for k, v := range body.Parameters {
		switch v := v.(type) {
		case string:
			params[k] = v
		case bool, float64:
			params[k] = fmt.Sprint(v)
		default:
			message(w, http.StatusBadRequest, "Parameter %q must be a string, boolean or number.", k)
			return
		}
	}
	branch, tag := "main", ""
	if body.Branch != nil {
		branch = *body.Branch
	}
	if body.Tag != nil {
		branch, tag = "", *body.Tag
	}
	pl := f.newPipeline(p, branch, tag, params)
	pl.Triggered = true
	var undeclared []string
	for k := range params {
		if !slices.Contains(p.parameters, k) {
			undeclared = append(undeclared, k)
		}
	}
	slices.Sort(undeclared)
	switch {
	case (branch != "" && !slices.Contains(branches, branch)) || (tag != "" && !slices.Contains(tags, tag)):
		pl.errors = []map[string]string{{"type": "config-fetch", "message": "No config found for " + branch + tag}}
	case len(undeclared) > 0:
		pl.errors = []map[string]string{{"type": "config", "message": "Unexpected argument(s): " + strings.Join(undeclared, ", ")}}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": pl.ID, "state": "pending", "number": pl.Number, "created_at": "2026-12-06T12:00:00Z"})
}

// phase is where the pipeline was at its last read: 0 queued, 1 running,
// 2 finished.
func (pl *Pipeline) phase() int { return min(max(pl.reads-1, 0), 2) }

func (f *Server) pipelineJSON(pl *Pipeline) map[string]any {
	state := "created"
	errs := []map[string]string{}
	if pl.errors != nil {
		state, errs = "errored", pl.errors
	}
	vcs := map[string]any{"provider_name": "GitHub", "origin_repository_url": "https://github.com/" + strings.SplitN(pl.Project, "/", 2)[1],
		"revision": "8e5b4c7a1d2f3e4a5b6c7d8e9f0a1b2c3d4e5f6a"}
	if pl.Branch != "" {
		vcs["branch"] = pl.Branch
	}
	if pl.Tag != "" {
		vcs["tag"] = pl.Tag
	}
	return map[string]any{"id": pl.ID, "errors": errs, "project_slug": pl.Project, "number": pl.Number, "state": state,
		"created_at": "2026-12-06T12:00:00Z", "updated_at": "2026-12-06T12:00:01Z",
		"trigger":            map[string]any{"type": "api", "received_at": "2026-12-06T12:00:00Z", "actor": map[string]string{"login": "release-bot"}},
		"trigger_parameters": pl.Parameters, "vcs": vcs}
}

// result is how the pipeline's project ends it.
func (f *Server) result(pl *Pipeline) string { return f.projects[pl.Project].result }

func (f *Server) workflowStatus(pl *Pipeline, wf *workflow) string {
	switch {
	case wf.cancelled:
		return "canceled"
	case pl.phase() < 2:
		return "running"
	case f.result(pl) == "failed" && wf.name == "build-deploy":
		return "failed"
	}
	return "success"
}

// jobStatus is job i of wf: in build-deploy, deploy waits for build.
func (f *Server) jobStatus(pl *Pipeline, wf *workflow, i int) string {
	waits := i > 0
	switch ph := pl.phase(); {
	case wf.cancelled && waits:
		return "not_run"
	case wf.cancelled:
		return "canceled"
	case ph == 0 && waits:
		return "blocked"
	case ph == 0:
		return "queued"
	case ph == 1 && waits:
		return "blocked"
	case ph == 1:
		return "running"
	case f.result(pl) == "failed" && wf.name == "build-deploy" && waits:
		return "not_run"
	case f.result(pl) == "failed" && wf.name == "build-deploy":
		return "failed"
	}
	return "success"
}
