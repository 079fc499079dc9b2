// Package azuredevopsfake is a fake Azure DevOps service (Pipelines and
// Build REST API 7.1), written from Microsoft's REST API reference, for the
// azure-devops connector's tests and the pipeline flow test
// (cicdtest.Server).
//
// It enforces what the real service does: api-version on every request; a
// personal access token as Basic (any user); a refused or missing token is
// 401 with X-TFS-FedAuthRedirect: Suppress and a 203 sign-in page without;
// unknown organizations, projects, pipelines, runs and builds are 404 with
// the service's error body ({"$id","message","typeName","typeKey",
// "errorCode","eventId"}); template parameters must be declared by the
// pipeline and variables settable at queue time; a ref must resolve; the
// pipelines listing pages by $top and the continuationToken named in the
// x-ms-continuationtoken header, and refuses a token it did not issue; a
// throttled request is 429 with Retry-After and the X-RateLimit-* headers.
// Every answer carries X-VSS-E2EID, as the service's do.
//
// A run moves one state per read of it (GET …/runs/{id}): queued (state
// inProgress, no job of its timeline started), running, then its
// pipeline's verdict; a cancelled run reads completed/canceled next.
package azuredevopsfake

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
	"time"

	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest/fakehttp"
	"github.com/stella-ops/inthub/shared/contracts"
)

// The organization, its projects and tokens.
const (
	Org          = "fabrikam"
	Project      = "web-shop"
	OtherProject = "payments" // another team's project, with runs of its own
	// Token is a personal access token of Org (52 characters, as the
	// service issues them).
	Token = "q7vxk2m4p9r3t5w8y1z6b0c2d4f6g8h1j3l5n7p9s2u4w6y8a0c1"
	// OtherOrgToken is a valid token of another organization: 401 here.
	OtherOrgToken = "z9y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4j3i2h1g0f9e8d7c6b5a4"
)

// Pipeline ids of the standard project.
const (
	PipelineOK     = 1 // runs succeed
	PipelineBroken = 2 // runs fail
	PipelineOther  = 3 // in OtherProject
)

// Pipeline is a pipeline of the fake.
type Pipeline struct {
	ID     int64
	Name   string
	Folder string
	// Parameters are the YAML runtime parameters it declares; Settable
	// the variables settable at queue time.
	Parameters []string
	Settable   []string
	// Result is the result its runs end with: succeeded or failed.
	Result string
}

// Run is a run the fake started.
type Run struct {
	ID                 int64
	Project            string
	Pipeline           int64
	RefName            string
	TemplateParameters map[string]string
	Variables          map[string]string
	reads              int
	cancelled          bool
	result             string
}

// Server is the fake service.
type Server struct {
	srv *httptest.Server
	// MaxTop caps a listing's $top, as a service's page limit does.
	MaxTop int

	mu        sync.Mutex
	pipelines map[string][]*Pipeline // by project
	runs      map[int64]*Run
	nextRun   int64
	// Routes counts requests by route ("GET project", "GET pipelines",
	// "POST runs", "GET run", "GET timeline", "PATCH build"),
	// refused ones included, and scripts 429s (Throttle, ThrottleAll,
	// Count).
	fakehttp.Routes
}

var _ cicdtest.Server = (*Server)(nil)

// Start starts a fake holding PipelineOK and PipelineBroken in Project and
// PipelineOther in OtherProject; t.Cleanup closes it.
func Start(t testing.TB) *Server {
	f := &Server{MaxTop: 1000, pipelines: map[string][]*Pipeline{Project: nil, OtherProject: nil},
		runs: map[int64]*Run{}, nextRun: 101}
	f.AddPipeline(Project, &Pipeline{ID: PipelineOK, Name: "deploy", Folder: `\release`, Parameters: []string{"environment", "TARGET", "VERSION"},
		Settable: []string{"TARGET", "verbose", "VERSION"}, Result: "succeeded"})
	f.AddPipeline(Project, &Pipeline{ID: PipelineBroken, Name: "nightly", Folder: `\`, Parameters: []string{"TARGET", "VERSION"}, Settable: []string{"TARGET", "VERSION"}, Result: "failed"})
	f.AddPipeline(OtherProject, &Pipeline{ID: PipelineOther, Name: "ledger", Folder: `\`, Result: "succeeded"})
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// AddPipeline adds p to project.
func (f *Server) AddPipeline(project string, p *Pipeline) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.Result == "" {
		p.Result = "succeeded"
	}
	f.pipelines[project] = append(f.pipelines[project], p)
}

// URL is the service root (as https://dev.azure.com).
func (f *Server) URL() string { return f.srv.URL }

// Integration is a config reaching Project with Token.
func (f *Server) Integration(string) (map[string]any, string) {
	return map[string]any{"url": f.srv.URL, "organization": Org, "project": Project}, connectortest.TokenSecret(Token)
}

// Pipeline names the pipeline whose runs end with verdict.
func (f *Server) Pipeline(verdict contracts.PipelineRunStatus) string {
	if verdict == contracts.RunFailed {
		return strconv.Itoa(PipelineBroken)
	}
	return strconv.Itoa(PipelineOK)
}

// Ref is a branch of every pipeline's repository.
func (f *Server) Ref() string { return "main" }

// Started reports the runs of pipeline (its id) and the parameters
// (template parameters and variables) of the last one.
func (f *Server) Started(pipeline string) (int, map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, last := 0, (*Run)(nil)
	for _, r := range f.sortedRuns() {
		if strconv.FormatInt(r.Pipeline, 10) == pipeline {
			n, last = n+1, r
		}
	}
	if last == nil {
		return 0, nil
	}
	params := map[string]string{}
	for k, v := range last.TemplateParameters {
		params[k] = v
	}
	for k, v := range last.Variables {
		params[k] = v
	}
	return n, params
}

// Runs are the runs started, oldest first.
func (f *Server) Runs() []Run {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Run
	for _, r := range f.sortedRuns() {
		out = append(out, *r)
	}
	return out
}

func (f *Server) sortedRuns() []*Run {
	out := make([]*Run, 0, len(f.runs))
	for _, r := range f.runs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Run) int { return int(a.ID - b.ID) })
	return out
}

// vssError writes the service's error body.
func vssError(w http.ResponseWriter, status int, typeKey, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"$id": "1", "innerException": nil, "message": fmt.Sprintf(format, args...),
		"typeName": "Microsoft.TeamFoundation." + typeKey + ", Microsoft.TeamFoundation.Framework.Server",
		"typeKey":  typeKey, "errorCode": 0, "eventId": 3000,
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// route names a request path: org, project, the route and its ids.
func route(method, path string) (org, project, name string, ids []string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 3 {
		return "", "", "", nil
	}
	org = segs[0]
	if segs[1] == "_apis" && len(segs) == 4 && segs[2] == "projects" {
		return org, segs[3], method + " project", nil
	}
	project, rest := segs[1], segs[2:]
	if rest[0] != "_apis" {
		return "", "", "", nil
	}
	switch p := strings.Join(rest[1:], "/"); {
	case p == "pipelines":
		return org, project, method + " pipelines", nil
	case len(rest) == 4 && rest[1] == "pipelines" && rest[3] == "runs":
		return org, project, method + " runs", []string{rest[2]}
	case len(rest) == 5 && rest[1] == "pipelines" && rest[3] == "runs":
		return org, project, method + " run", []string{rest[2], rest[4]}
	case len(rest) == 5 && rest[1] == "build" && rest[2] == "builds" && rest[4] == "timeline":
		return org, project, method + " timeline", []string{rest[3]}
	case len(rest) == 4 && rest[1] == "build" && rest[2] == "builds":
		return org, project, method + " build", []string{rest[3]}
	}
	return "", "", "", nil
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-VSS-E2EID", "6b3f0a52-0c61-4f7e-9d55-0d8f1f0e9a11")
	w.Header().Set("ActivityId", "0f6c1c8e-8d6a-4c38-9a4b-2f7f3c9d1e20")
	f.mu.Lock()
	defer f.mu.Unlock()
	org, project, name, ids := route(r.Method, r.URL.EscapedPath())
	if secs, throttled := f.Call(name); throttled {
		// The service names the throttled resource and the reset as a Unix
		// time besides Retry-After.
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("X-RateLimit-Resource", "Core")
		w.Header().Set("X-RateLimit-Delay", "0.8")
		w.Header().Set("X-RateLimit-Limit", "200")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Duration(secs)*time.Second).Unix(), 10))
		vssError(w, http.StatusTooManyRequests, "RequestBlockedException",
			"TF400733: The request has been blocked: the rate limit of the Core resource for your identity was exceeded.")
		return
	}
	switch v := r.URL.Query().Get("api-version"); {
	case v == "":
		vssError(w, http.StatusBadRequest, "VssVersionNotSpecifiedException",
			"No api-version was supplied for the %q request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0').", r.Method)
		return
	case v != "7.1" && v != "7.0" && !strings.HasPrefix(v, "7.1-preview"):
		vssError(w, http.StatusBadRequest, "VssVersionOutOfRangeException", "The requested REST API version of %s is out of range for this server.", v)
		return
	}
	if !f.authorized(r) {
		if !strings.EqualFold(r.Header.Get("X-TFS-FedAuthRedirect"), "Suppress") {
			// Without Suppress the service redirects a browser to sign in;
			// an API client sees the sign-in page with 203.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNonAuthoritativeInfo)
			_, _ = w.Write([]byte("<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>"))
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri=https://login.microsoftonline.com/common, Basic realm="https://dev.azure.com/"`)
		w.Header().Set("X-TFS-ServiceError", "TF400813")
		vssError(w, http.StatusUnauthorized, "UnauthorizedRequestException",
			"TF400813: The user is not authorized to access this resource.")
		return
	}
	if name == "" {
		vssError(w, http.StatusNotFound, "ResourceNotFoundException", "The resource cannot be found.")
		return
	}
	if org != Org {
		vssError(w, http.StatusNotFound, "OrganizationNotFoundException", "TF400813: The organization '%s' was not found.", org)
		return
	}
	pipelines, ok := f.pipelines[project]
	if !ok {
		vssError(w, http.StatusNotFound, "ProjectDoesNotExistWithNameException",
			"TF200016: The following project does not exist: %s. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.", project)
		return
	}
	switch name {
	case "GET project":
		writeJSON(w, map[string]any{"id": "8c9d6e1f-" + fmt.Sprintf("%04d", len(project)) + "-4b2a-9c3d-7e6f5a4b3c2d", "name": project, "state": "wellFormed", "visibility": "private"})
	case "GET pipelines":
		f.listPipelines(w, r, project, pipelines)
	case "POST runs":
		f.runPipeline(w, r, project, pipelines, ids[0])
	case "GET run":
		f.getRun(w, project, ids)
	case "GET timeline":
		f.getTimeline(w, project, ids[0])
	case "PATCH build":
		f.cancelBuild(w, r, project, ids[0])
	default:
		vssError(w, http.StatusMethodNotAllowed, "HttpMethodNotAllowedException", "The requested resource does not support http method '%s'.", r.Method)
	}
}

// authorized reports whether r carries Token as a Basic password.
func (f *Server) authorized(r *http.Request) bool {
	_, password, ok := r.BasicAuth()
	return ok && password == Token
}

// continuation encodes an offset into project's listing; tokens name
// their project so one cannot be replayed elsewhere.
func continuation(project string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(project + "|" + strconv.Itoa(offset)))
}

func (f *Server) listPipelines(w http.ResponseWriter, r *http.Request, project string, pipelines []*Pipeline) {
	q := r.URL.Query()
	top := f.MaxTop
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			vssError(w, http.StatusBadRequest, "InvalidArgumentValueException", "The value specified for the following variable must be greater than 0: $top.")
			return
		}
		top = min(n, f.MaxTop)
	}
	sorted := slices.Clone(pipelines)
	switch q.Get("orderBy") {
	case "", "name asc":
		slices.SortFunc(sorted, func(a, b *Pipeline) int { return strings.Compare(a.Name, b.Name) })
	case "name desc":
		slices.SortFunc(sorted, func(a, b *Pipeline) int { return strings.Compare(b.Name, a.Name) })
	default:
		vssError(w, http.StatusBadRequest, "InvalidArgumentValueException", "The value specified for orderBy is not valid: %s.", q.Get("orderBy"))
		return
	}
	offset := 0
	if tok := q.Get("continuationToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		p, n, _ := strings.Cut(string(raw), "|")
		o, err2 := strconv.Atoi(n)
		if err != nil || err2 != nil || p != project || o <= 0 || o > len(sorted) {
			vssError(w, http.StatusBadRequest, "InvalidContinuationTokenException", "The continuation token is not valid: %s.", tok)
			return
		}
		offset = o
	}
	end := min(offset+top, len(sorted))
	if end < len(sorted) {
		w.Header().Set("x-ms-continuationtoken", continuation(project, end))
	}
	value := []map[string]any{}
	for _, p := range sorted[offset:end] {
		value = append(value, f.pipelineJSON(project, p))
	}
	writeJSON(w, map[string]any{"count": len(value), "value": value})
}

func (f *Server) pipelineJSON(project string, p *Pipeline) map[string]any {
	u := fmt.Sprintf("%s/%s/%s/_apis/pipelines/%d?revision=1", f.srv.URL, Org, project, p.ID)
	return map[string]any{"id": p.ID, "revision": 1, "name": p.Name, "folder": p.Folder, "url": u,
		"_links": map[string]any{"self": map[string]string{"href": u},
			"web": map[string]string{"href": fmt.Sprintf("%s/%s/%s/_build/definition?definitionId=%d", f.srv.URL, Org, project, p.ID)}}}
}

// runBody is RunPipelineParameters.
type runBody struct {
	PreviewRun bool `json:"previewRun"`
	Resources  *struct {
		Repositories map[string]struct {
			RefName string `json:"refName"`
			Version string `json:"version"`
		} `json:"repositories"`
	} `json:"resources"`
	StagesToSkip       []string       `json:"stagesToSkip"`
	TemplateParameters map[string]any `json:"templateParameters"`
	Variables          map[string]struct {
		Value    *string `json:"value"`
		IsSecret bool    `json:"isSecret"`
	} `json:"variables"`
	YamlOverride string `json:"yamlOverride"`
}

// branches are the refs every pipeline's repository holds.
var branches = []string{"refs/heads/main", "refs/heads/release/1.0", "refs/tags/v1.0.0"}

func (f *Server) findPipeline(w http.ResponseWriter, pipelines []*Pipeline, id string) *Pipeline {
	n, err := strconv.ParseInt(id, 10, 32)
	if err != nil {
		vssError(w, http.StatusBadRequest, "InvalidArgumentValueException", "The value '%s' is not valid for pipelineId.", id)
		return nil
	}
	i := slices.IndexFunc(pipelines, func(p *Pipeline) bool { return p.ID == n })
	if i < 0 {
		vssError(w, http.StatusNotFound, "PipelineNotFoundException", "Pipeline with id %d not found.", n)
		return nil
	}
	return pipelines[i]
}

func (f *Server) runPipeline(w http.ResponseWriter, r *http.Request, project string, pipelines []*Pipeline, id string) {
	p := f.findPipeline(w, pipelines, id)
	if p == nil {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		vssError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "The request entity's media type '%s' is not supported for this resource.", r.Header.Get("Content-Type"))
		return
	}
	var body runBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		vssError(w, http.StatusBadRequest, "ArgumentNullException", "Value cannot be null.\r\nParameter name: runParameters")
		return
	}
	run := &Run{ID: f.nextRun, Project: project, Pipeline: p.ID, RefName: "refs/heads/main", result: p.Result,
		TemplateParameters: map[string]string{}, Variables: map[string]string{}}
	if body.Resources != nil {
		for name, repo := range body.Resources.Repositories {
			if name != "self" {
				vssError(w, http.StatusBadRequest, "PipelineValidationException", "Unexpected repository resource '%s'.", name)
				return
			}
			if repo.RefName != "" {
				run.RefName = repo.RefName
			}
		}
	}
	if !slices.Contains(branches, run.RefName) {
		vssError(w, http.StatusBadRequest, "PipelineValidationException",
			"Unable to resolve the reference '%s' to a specific version. Verify the reference exists in the source repository.", run.RefName)
		return
	}
	for k, v := range body.TemplateParameters {
		if !slices.Contains(p.Parameters, k) {
			vssError(w, http.StatusBadRequest, "PipelineValidationException", "Unexpected parameter '%s'", k)
			return
		}
		run.TemplateParameters[k] = fmt.Sprint(v)
	}
	var refused []string
	for k, v := range body.Variables {
		if !slices.Contains(p.Settable, k) {
			refused = append(refused, k)
			continue
		}
		if v.Value != nil {
			run.Variables[k] = *v.Value
		}
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		vssError(w, http.StatusBadRequest, "PipelineValidationException",
			"You can't set the following variables (%s). If you want to be able to set these variables, then edit the pipeline and select Settable at queue time on the variables tab of the pipeline editor.", strings.Join(refused, ", "))
		return
	}
	if body.PreviewRun {
		writeJSON(w, map[string]any{"finalYaml": "trigger: none\n"})
		return
	}
	f.nextRun++
	f.runs[run.ID] = run
	writeJSON(w, f.runJSON(run, "inProgress", ""))
}

func (f *Server) runJSON(run *Run, state, result string) map[string]any {
	u := fmt.Sprintf("%s/%s/%s/_apis/pipelines/%d/runs/%d", f.srv.URL, Org, run.Project, run.Pipeline, run.ID)
	out := map[string]any{"id": run.ID, "name": fmt.Sprintf("20261206.%d", run.ID), "state": state, "url": u,
		"createdDate": "2026-12-06T12:00:00.000Z",
		"pipeline":    map[string]any{"id": run.Pipeline, "revision": 1},
		"resources":   map[string]any{"repositories": map[string]any{"self": map[string]any{"refName": run.RefName, "version": "8e5b4c7a1d2f3e4a5b6c7d8e9f0a1b2c3d4e5f6a"}}},
		"_links": map[string]any{"self": map[string]string{"href": u},
			"web": map[string]string{"href": fmt.Sprintf("%s/%s/%s/_build/results?buildId=%d", f.srv.URL, Org, run.Project, run.ID)}}}
	if len(run.TemplateParameters) > 0 {
		out["templateParameters"] = run.TemplateParameters
	}
	if result != "" {
		out["result"] = result
		out["finishedDate"] = "2026-12-06T12:05:00.000Z"
	}
	return out
}

// phase is where a run is: 0 queued, 1 running, 2 completed.
func (run *Run) phase() int {
	if run.cancelled {
		return 2
	}
	return min(run.reads, 2)
}

// reported is the phase the last read of the run reported (queued before
// any): what the service's timeline and a cancel see.
func (run *Run) reported() int {
	if run.cancelled {
		return 2
	}
	return max(run.reads-1, 0)
}

func (run *Run) outcome() (state, result string) {
	switch {
	case run.cancelled:
		return "completed", "canceled"
	case run.phase() == 2:
		return "completed", run.result
	}
	return "inProgress", ""
}

func (f *Server) findRun(w http.ResponseWriter, project, id string, notFound func(n int64)) *Run {
	n, err := strconv.ParseInt(id, 10, 32)
	if err != nil {
		vssError(w, http.StatusBadRequest, "InvalidArgumentValueException", "The value '%s' is not valid for buildId.", id)
		return nil
	}
	run, ok := f.runs[n]
	if !ok || run.Project != project {
		notFound(n)
		return nil
	}
	return run
}

func (f *Server) getRun(w http.ResponseWriter, project string, ids []string) {
	run := f.findRun(w, project, ids[1], func(n int64) {
		vssError(w, http.StatusNotFound, "RunNotFoundException", "Run with id %d not found.", n)
	})
	if run == nil {
		return
	}
	if strconv.FormatInt(run.Pipeline, 10) != ids[0] {
		vssError(w, http.StatusNotFound, "RunNotFoundException", "Run with id %d not found for pipeline %s.", run.ID, ids[0])
		return
	}
	state, result := run.outcome()
	run.reads++
	writeJSON(w, f.runJSON(run, state, result))
}

func (f *Server) getTimeline(w http.ResponseWriter, project, id string) {
	run := f.findRun(w, project, id, func(n int64) {
		vssError(w, http.StatusNotFound, "BuildNotFoundException", "The requested build %d could not be found.", n)
	})
	if run == nil {
		return
	}
	ph := run.reported()
	type rec struct {
		ID       string  `json:"id"`
		ParentID *string `json:"parentId"`
		Type     string  `json:"type"`
		Name     string  `json:"name"`
		State    string  `json:"state"`
		Result   *string `json:"result"`
		Order    int     `json:"order"`
	}
	str := func(s string) *string { return &s }
	state := func(started bool) (string, *string) {
		switch {
		case ph == 0 || !started:
			return "pending", nil
		case ph == 1:
			return "inProgress", nil
		case run.cancelled:
			return "completed", str("canceled")
		}
		return "completed", str(run.result)
	}
	var records []rec
	for i, stage := range []string{"Build", "Deploy"} {
		sid, pid, jid := fmt.Sprintf("s%d", i), fmt.Sprintf("p%d", i), fmt.Sprintf("j%d", i)
		// Deploy starts when Build ends: it is pending while Build runs.
		started := i == 0 || ph == 2
		st, res := state(started)
		if i == 1 && ph == 2 && !run.cancelled && run.result == "failed" {
			st, res = "completed", str("skipped")
		}
		job := map[string]string{"Build": "compile", "Deploy": "deploy_web"}[stage]
		records = append(records,
			rec{ID: sid, Type: "Stage", Name: stage, State: st, Result: res, Order: i + 1},
			rec{ID: pid, ParentID: str(sid), Type: "Phase", Name: job, State: st, Result: res, Order: 1},
			rec{ID: jid, ParentID: str(pid), Type: "Job", Name: job, State: st, Result: res, Order: 1})
	}
	writeJSON(w, map[string]any{"records": records, "lastChangedBy": "00000002-0000-8888-8000-000000000000", "id": "t-" + id, "changeId": run.reads})
}

func (f *Server) cancelBuild(w http.ResponseWriter, r *http.Request, project, id string) {
	run := f.findRun(w, project, id, func(n int64) {
		vssError(w, http.StatusNotFound, "BuildNotFoundException", "The requested build %d could not be found.", n)
	})
	if run == nil {
		return
	}
	var body struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Status == "" {
		vssError(w, http.StatusBadRequest, "ArgumentNullException", "Value cannot be null.\r\nParameter name: build")
		return
	}
	if body.Status != "cancelling" {
		vssError(w, http.StatusBadRequest, "InvalidBuildStatusException", "The build status '%s' cannot be set by a client.", body.Status)
		return
	}
	if run.reported() < 2 {
		run.cancelled = true
	}
	state, result := run.outcome()
	status := map[string]string{"completed": "completed", "inProgress": "cancelling"}[state]
	writeJSON(w, map[string]any{"id": run.ID, "buildNumber": fmt.Sprintf("20261206.%d", run.ID), "status": status, "result": result,
		"definition": map[string]any{"id": run.Pipeline}})
}
