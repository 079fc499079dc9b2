// Package gitlabfake is a fake GitLab (REST API v4) for the tests of the
// gitlab and gitlab-ci connectors and for the pipeline flow test of the
// devstack (through cicdtest.Server).
package gitlabfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
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

// GitLab is GitLab's REST API v4 as its reference documents it
// (docs.gitlab.com: api/rest/authentication, api/rest pagination, api/projects,
// api/pipelines, api/jobs, administration/settings/user_and_ip_rate_limits):
//
//   - tokens in PRIVATE-TOKEN (personal, project, group tokens only) or
//     Authorization: Bearer (those and OAuth2 tokens); an unknown, revoked
//     or malformed token is 401 {"message":"401 Unauthorized"} on every
//     endpoint, public ones included; no token is an anonymous visitor
//     (public projects only, 401 on /user and /version);
//   - scopes: reads need api or read_api (/user also read_user), creating a
//     pipeline needs api, else 403 {"error":"insufficient_scope",...};
//   - a project path must be URL-encoded in one path segment (group%2Fapp),
//     else the route does not match: 404;
//   - offset pagination (page, per_page default 20 max 100, X-Page,
//     X-Next-Page, X-Total..., Link prev/next/first/last) and, for
//     /projects, keyset pagination (pagination=keyset needs order_by=id and
//     sort, else 405; Link rel="next" with id_after; no X-* headers);
//   - rate limits: 429, text/plain "Retry later", Retry-After and the
//     RateLimit-* headers.
//
// It counts calls per route.
type GitLab struct {
	srv *httptest.Server

	mu       sync.Mutex
	tokens   map[string]fakeToken
	projects []*fakeProject // by id ascending
	created  []Created
	now      time.Time
	// runs are the created pipelines' states: each read of a pipeline
	// moves it one step along its course (created, pending, running,
	// then verdict), until it ends.
	runs    map[int64]*fakeRun
	verdict string // "success" unless set
	// hold keeps running pipelines running, however often they are read.
	hold bool
	// Routes counts calls by route and scripts 429s (ThrottleAll, Count;
	// Throttle below scripts n at once).
	fakehttp.Routes
}

// fakeRun is one created pipeline moving through its states.
type fakeRun struct {
	project int64
	step    int
	status  string
}

var runCourse = []string{"created", "pending", "running"}

// advance moves r one step and returns its status.
func (r *fakeRun) advance(verdict string) string {
	switch {
	case r.status == "canceled" || r.status == "success" || r.status == "failed":
	case r.step < len(runCourse):
		r.status = runCourse[r.step]
		r.step++
	default:
		r.status = verdict
	}
	return r.status
}

// fakeToken is an access token GitLab knows.
type fakeToken struct {
	oauth  bool // OAuth2 tokens are only accepted as Bearer
	scopes []string
}

type fakeProject struct {
	id            int64
	path          string // namespace/name
	defaultBranch string
	branches      []string
	public        bool
	member        bool
	archived      bool
	verdict       string         // status its created pipelines end with; the fake's when unset
	pipelines     []fakePipeline // newest first
	jobs          []fakeJob      // newest first
}

type fakePipeline struct {
	id   int64
	ref  string
	name string
}

type fakeJob struct {
	id, pipeline int64
	name, stage  string
}

// Created is one accepted POST /projects/:id/pipeline.
type Created struct {
	Project   int64
	Ref       string
	Variables []Variable
}

// Variable is one entry of the create-pipeline variables array.
type Variable struct {
	Key          string `json:"key"`
	Value        string `json:"value"`
	VariableType string `json:"variable_type"`
}

// The tokens of the fake.
const (
	PatAPI      = "glpat-api-0123456789abcdef"
	PatReadAPI  = "glpat-readapi-0123456789ab"
	PatReadUser = "glpat-readuser-0123456789"
	OAuthToken  = "oauth-0123456789abcdef0123"
)

// New starts a fake GitLab with the tokens PatAPI, PatReadAPI, PatReadUser
// and OAuthToken and no project; the test's end closes it.
func New(t *testing.T) *GitLab {
	t.Helper()
	f := &GitLab{
		tokens: map[string]fakeToken{
			PatAPI:      {scopes: []string{"api"}},
			PatReadAPI:  {scopes: []string{"read_api"}},
			PatReadUser: {scopes: []string{"read_user"}},
			OAuthToken:  {oauth: true, scopes: []string{"api"}},
		},
		now: time.Unix(1_760_000_000, 0),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// AddProjects adds n member projects team-a/svc-000 … (half in team-b), and
// decoys the listing must skip: a public non-member project and an archived
// member project.
func (f *GitLab) AddProjects(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		team := "team-a"
		if i >= n/2 {
			team = "team-b"
		}
		f.add(&fakeProject{path: fmt.Sprintf("%s/svc-%03d", team, i), defaultBranch: "main", branches: []string{"main"}, member: true})
		if i%50 == 0 {
			f.add(&fakeProject{path: fmt.Sprintf("public/other-%03d", i), defaultBranch: "main", public: true})
			f.add(&fakeProject{path: fmt.Sprintf("%s/old-%03d", team, i), defaultBranch: "main", member: true, archived: true})
		}
	}
}

func (f *GitLab) add(p *fakeProject) *fakeProject {
	p.id = int64(len(f.projects) + 1)
	f.projects = append(f.projects, p)
	return p
}

// AddCIProject adds the member project team/app with pipelines and jobs,
// newest first.
func (f *GitLab) AddCIProject(pipelines, jobs int) *fakeProject {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.add(&fakeProject{path: "team/app", defaultBranch: "main", branches: []string{"main", "release-1", "release-2"}, member: true})
	for i := pipelines; i >= 1; i-- {
		ref := "main"
		if i%5 == 0 {
			ref = fmt.Sprintf("release-%d", 1+i%2)
		}
		p.pipelines = append(p.pipelines, fakePipeline{id: int64(1000 + i), ref: ref, name: "pipe"})
	}
	for i := jobs; i >= 1; i-- {
		stage, name := "build", fmt.Sprintf("build-%03d", i)
		if i%2 == 0 {
			stage, name = "test", fmt.Sprintf("test-%03d", i)
		}
		p.jobs = append(p.jobs, fakeJob{id: int64(5000 + i), pipeline: int64(1000 + (i+1)/2), name: name, stage: stage})
	}
	return p
}

// URL is the fake's base URL (the connectors' url setting).
func (f *GitLab) URL() string { return f.srv.URL }

// SetVerdict sets the status created pipelines end with ("success",
// "failed"), unless their project has its own.
func (f *GitLab) SetVerdict(status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verdict = status
}

// HoldRunning keeps every running pipeline running while on (each read
// moves the others as before); off lets them end at their next read.
func (f *GitLab) HoldRunning(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = on
}

// Throttle makes the next n calls of route answer 429 with Retry-After.
func (f *GitLab) Throttle(route string, retryAfter, n int) {
	for range n {
		f.Routes.Throttle(route, retryAfter)
	}
}

// PipelinesCreated returns the pipelines created so far, in order.
func (f *GitLab) PipelinesCreated() []Created {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.created)
}

// caller is who a request authenticated as; token nil is anonymous.
type caller struct{ token *fakeToken }

func (c caller) has(scopes ...string) bool {
	return c.token != nil && slices.ContainsFunc(c.token.scopes, func(s string) bool { return slices.Contains(scopes, s) })
}

func (f *GitLab) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	segs, ok := apiSegments(r.URL.EscapedPath())
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
		return
	}
	route := r.Method + " " + routeOf(segs)
	if len(segs) >= 4 && segs[0] == "projects" && segs[2] == "pipelines" {
		route = r.Method + " " + strings.Join(append([]string{"/projects/:id/pipelines/:pipeline_id"}, segs[4:]...), "/")
	}
	if retryAfter, throttled := f.Call(route); throttled {
		f.tooManyRequests(w, retryAfter)
		return
	}
	who, ok := f.authenticate(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	switch route {
	case "GET /version":
		if !f.read(w, who) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"version": "17.5.1-ee", "revision": "4f0ef8a2e1c"})
	case "GET /user":
		if !f.read(w, who, "read_user") {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 7, "username": "ci-bot", "state": "active"})
	case "GET /projects":
		if who.token != nil && !f.read(w, who) {
			return
		}
		f.listProjects(w, r, who)
	case "GET /projects/:id/pipelines/:pipeline_id", "GET /projects/:id/pipelines/:pipeline_id/jobs", "POST /projects/:id/pipelines/:pipeline_id/cancel":
		f.runRoute(w, r, route, who, segs)
	case "GET /projects/:id", "GET /projects/:id/pipelines", "GET /projects/:id/jobs", "POST /projects/:id/pipeline":
		p := f.project(segs[1])
		if p == nil || !(p.public || (who.token != nil && p.member)) {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Project Not Found"})
			return
		}
		if route == "POST /projects/:id/pipeline" {
			f.createPipeline(w, r, who, p)
			return
		}
		if who.token != nil && !f.read(w, who) {
			return
		}
		f.projectRoute(w, r, route, p)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
	}
}

// apiSegments splits an escaped path under /api/v4 into unescaped
// segments, as Rails routes it: an unencoded slash makes more segments.
func apiSegments(escaped string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escaped, "/api/v4/")
	if !ok {
		return nil, false
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil || u == "" {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func routeOf(segs []string) string {
	if len(segs) >= 2 && segs[0] == "projects" {
		return "/" + strings.Join(append([]string{"projects", ":id"}, segs[2:]...), "/")
	}
	return "/" + strings.Join(segs, "/")
}

// authenticate reads PRIVATE-TOKEN or Authorization: Bearer; false means a
// token was presented and refused.
func (f *GitLab) authenticate(r *http.Request) (caller, bool) {
	if v := r.Header.Get("Private-Token"); v != "" {
		t, ok := f.tokens[v]
		if !ok || t.oauth { // PRIVATE-TOKEN looks up access tokens only
			return caller{}, false
		}
		return caller{&t}, true
	}
	if v := r.Header.Get("Authorization"); v != "" {
		scheme, token, _ := strings.Cut(v, " ")
		t, ok := f.tokens[token]
		if !strings.EqualFold(scheme, "Bearer") || !ok {
			return caller{}, false
		}
		return caller{&t}, true
	}
	return caller{}, true
}

// read enforces a read scope: 401 for anonymous, 403 for a token without.
func (f *GitLab) read(w http.ResponseWriter, who caller, extra ...string) bool {
	if who.token == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return false
	}
	if !who.has(append([]string{"api", "read_api"}, extra...)...) {
		insufficientScope(w, "api read_api")
		return false
	}
	return true
}

func insufficientScope(w http.ResponseWriter, scope string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="Protected by OAuth 2.0", error="insufficient_scope", `+
		`error_description="The request requires higher privileges than provided by the access token.", scope="`+scope+`"`)
	writeJSON(w, http.StatusForbidden, map[string]any{"error": "insufficient_scope",
		"error_description": "The request requires higher privileges than provided by the access token.", "scope": scope})
}

func (f *GitLab) tooManyRequests(w http.ResponseWriter, retryAfter int) {
	reset := f.now.Add(time.Duration(retryAfter) * time.Second)
	h := w.Header()
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Limit", "2000")
	h.Set("RateLimit-Observed", "2001")
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
	h.Set("Retry-After", strconv.Itoa(retryAfter))
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprint(w, "Retry later\n")
}

func (f *GitLab) project(idOrPath string) *fakeProject {
	for _, p := range f.projects {
		if strconv.FormatInt(p.id, 10) == idOrPath || p.path == idOrPath {
			return p
		}
	}
	return nil
}

func (f *GitLab) listProjects(w http.ResponseWriter, r *http.Request, who caller) {
	q := r.URL.Query()
	var visible []*fakeProject
	for _, p := range f.projects {
		switch {
		case who.token == nil && !p.public:
		case who.token != nil && q.Get("membership") == "true" && !p.member:
		case who.token != nil && !p.member && !p.public:
		case q.Get("archived") == "false" && p.archived:
		default:
			visible = append(visible, p)
		}
	}
	render := func(p *fakeProject) any { return projectJSON(f.srv.URL, p, q.Get("simple") == "true") }
	if q.Get("pagination") == "keyset" {
		f.keyset(w, r, visible, render)
		return
	}
	offsetPage(w, r, len(visible), func(i int) any { return render(visible[i]) })
}

// keyset serves keyset pagination ordered by id: id_after/id_before and a
// Link rel="next" while more remain.
func (f *GitLab) keyset(w http.ResponseWriter, r *http.Request, ps []*fakeProject, render func(*fakeProject) any) {
	q := r.URL.Query()
	if q.Get("order_by") != "id" || (q.Get("sort") != "asc" && q.Get("sort") != "desc") {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "Keyset pagination is not yet available for this type of request"})
		return
	}
	perPage, ok := perPageOf(w, q)
	if !ok {
		return
	}
	asc := q.Get("sort") == "asc"
	if !asc {
		ps = slices.Clone(ps)
		slices.Reverse(ps)
	}
	after, _ := strconv.ParseInt(q.Get("id_after"), 10, 64)
	before, _ := strconv.ParseInt(q.Get("id_before"), 10, 64)
	var sel []*fakeProject
	for _, p := range ps {
		if (after == 0 || p.id > after) && (before == 0 || p.id < before) {
			sel = append(sel, p)
		}
	}
	more := len(sel) > perPage
	sel = sel[:min(perPage, len(sel))]
	out := make([]any, len(sel))
	for i, p := range sel {
		out[i] = render(p)
	}
	if more {
		next := maps.Clone(q)
		next.Del("id_after")
		next.Del("id_before")
		key := "id_after"
		if !asc {
			key = "id_before"
		}
		next.Set(key, strconv.FormatInt(sel[len(sel)-1].id, 10))
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, f.srv.URL, r.URL.EscapedPath(), next.Encode()))
	}
	writeJSON(w, http.StatusOK, out)
}

func projectJSON(base string, p *fakeProject, simple bool) map[string]any {
	ns, name, _ := strings.Cut(p.path, "/")
	m := map[string]any{
		"id": p.id, "name": name, "path": name, "path_with_namespace": p.path, "name_with_namespace": ns + " / " + name,
		"description": "", "default_branch": p.defaultBranch, "web_url": base + "/" + p.path,
		"http_url_to_repo": base + "/" + p.path + ".git", "ssh_url_to_repo": "git@fake:" + p.path + ".git",
		"last_activity_at": "2025-10-01T08:00:00.000Z", "namespace": map[string]any{"full_path": ns, "kind": "group"},
	}
	if !simple {
		m["visibility"], m["archived"] = map[bool]string{true: "public", false: "private"}[p.public], p.archived
	}
	return m
}

func (f *GitLab) projectRoute(w http.ResponseWriter, r *http.Request, route string, p *fakeProject) {
	switch route {
	case "GET /projects/:id":
		writeJSON(w, http.StatusOK, projectJSON(f.srv.URL, p, r.URL.Query().Get("simple") == "true"))
	case "GET /projects/:id/pipelines":
		offsetPage(w, r, len(p.pipelines), func(i int) any {
			pl := p.pipelines[i]
			return map[string]any{"id": pl.id, "iid": pl.id - 1000, "project_id": p.id, "status": "success", "source": "push",
				"ref": pl.ref, "sha": fmt.Sprintf("%040x", pl.id), "name": pl.name, "web_url": fmt.Sprintf("%s/%s/-/pipelines/%d", f.srv.URL, p.path, pl.id),
				"created_at": "2025-10-01T08:00:00.000Z", "updated_at": "2025-10-01T08:10:00.000Z"}
		})
	case "GET /projects/:id/jobs":
		offsetPage(w, r, len(p.jobs), func(i int) any {
			j := p.jobs[i]
			return map[string]any{"id": j.id, "name": j.name, "stage": j.stage, "status": "success", "ref": "main",
				"pipeline": map[string]any{"id": j.pipeline, "project_id": p.id, "ref": "main", "status": "success"},
				"web_url":  fmt.Sprintf("%s/%s/-/jobs/%d", f.srv.URL, p.path, j.id), "created_at": "2025-10-01T08:00:00.000Z"}
		})
	}
}

// variableKeyGrammar is GitLab's rule for variable keys.
var variableKeyGrammar = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func (f *GitLab) createPipeline(w http.ResponseWriter, r *http.Request, who caller, p *fakeProject) {
	if who.token == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	if !who.has("api") {
		insufficientScope(w, "api")
		return
	}
	var body struct {
		Ref       string     `json:"ref"`
		Variables []Variable `json:"variables"`
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "400 Bad request - invalid JSON"})
			return
		}
	}
	if body.Ref == "" {
		body.Ref = r.URL.Query().Get("ref")
	}
	if body.Ref == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "ref is missing"})
		return
	}
	for _, v := range body.Variables {
		if !variableKeyGrammar.MatchString(v.Key) || (v.VariableType != "env_var" && v.VariableType != "file") {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{"Variables key can contain only letters, digits and '_'."}}})
			return
		}
	}
	if !slices.Contains(p.branches, body.Ref) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{"Reference not found"}}})
		return
	}
	id := int64(9000 + len(f.created))
	f.created = append(f.created, Created{Project: p.id, Ref: body.Ref, Variables: body.Variables})
	if f.runs == nil {
		f.runs = map[int64]*fakeRun{}
	}
	f.runs[id] = &fakeRun{project: p.id, status: "created", step: 1}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "iid": 1, "project_id": p.id, "status": "created", "ref": body.Ref,
		"web_url": fmt.Sprintf("%s/%s/-/pipelines/%d", f.srv.URL, p.path, id)})
}

// runRoute serves a created pipeline: its state (each read one step on),
// its jobs (build, then test) and cancel, which needs the api scope and
// answers 403 once the pipeline ended (api/pipelines: "Cancel a
// pipeline's jobs").
func (f *GitLab) runRoute(w http.ResponseWriter, r *http.Request, route string, who caller, segs []string) {
	p := f.project(segs[1])
	id, _ := strconv.ParseInt(segs[3], 10, 64)
	run := f.runs[id]
	if p == nil || !(p.public || (who.token != nil && p.member)) || run == nil || run.project != p.id {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
		return
	}
	if who.token != nil && !f.read(w, who) {
		return
	}
	verdict := cmp.Or(p.verdict, f.verdict, "success")
	pipeline := func() map[string]any {
		return map[string]any{"id": id, "project_id": p.id, "status": run.status, "ref": "main",
			"web_url": fmt.Sprintf("%s/%s/-/pipelines/%d", f.srv.URL, p.path, id)}
	}
	switch route {
	case "GET /projects/:id/pipelines/:pipeline_id":
		if !f.hold || run.status != "running" {
			run.advance(verdict)
		}
		writeJSON(w, http.StatusOK, pipeline())
	case "GET /projects/:id/pipelines/:pipeline_id/jobs":
		if _, ok := perPageOf(w, r.URL.Query()); !ok {
			return
		}
		build, test := "created", "created"
		switch run.status {
		case "pending":
			build = "pending"
		case "running":
			build, test = "success", "running"
		case "success", "failed":
			build, test = "success", run.status
		case "canceled":
			build, test = "success", "canceled"
		}
		writeJSON(w, http.StatusOK, []map[string]any{ // newest first
			{"id": id*10 + 2, "name": "unit", "stage": "test", "status": test},
			{"id": id*10 + 1, "name": "compile", "stage": "build", "status": build},
		})
	case "POST /projects/:id/pipelines/:pipeline_id/cancel":
		if !who.has("api") {
			insufficientScope(w, "api")
			return
		}
		if run.status == "success" || run.status == "failed" {
			writeJSON(w, http.StatusForbidden, map[string]any{"message": "403 Forbidden"})
			return
		}
		run.status = "canceled"
		writeJSON(w, http.StatusOK, pipeline())
	}
}

// perPageOf reads per_page: default 20, at most 100, refused when not a
// positive integer.
func perPageOf(w http.ResponseWriter, q url.Values) (int, bool) {
	if q.Get("per_page") == "" {
		return 20, true
	}
	n, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || n < 1 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "per_page does not have a valid value"})
		return 0, false
	}
	return min(n, 100), true
}

// offsetPage serves items [page) of a listing of n with GitLab's offset
// headers and Link.
func offsetPage(w http.ResponseWriter, r *http.Request, n int, item func(int) any) {
	q := r.URL.Query()
	perPage, ok := perPageOf(w, q)
	if !ok {
		return
	}
	page := 1
	if s := q.Get("page"); s != "" {
		var err error
		if page, err = strconv.Atoi(s); err != nil || page < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "page does not have a valid value"})
			return
		}
	}
	pages := max(1, (n+perPage-1)/perPage)
	start, end := min((page-1)*perPage, n), min(page*perPage, n)
	link := func(p int) string {
		lq := maps.Clone(q)
		lq.Set("page", strconv.Itoa(p))
		lq.Set("per_page", strconv.Itoa(perPage))
		return "http://" + r.Host + r.URL.EscapedPath() + "?" + lq.Encode()
	}
	h := w.Header()
	var links []string
	next, prev := "", ""
	if page > 1 {
		prev = strconv.Itoa(page - 1)
		links = append(links, "<"+link(page-1)+`>; rel="prev"`)
	}
	if page < pages {
		next = strconv.Itoa(page + 1)
		links = append(links, "<"+link(page+1)+`>; rel="next"`)
	}
	links = append(links, "<"+link(1)+`>; rel="first"`, "<"+link(pages)+`>; rel="last"`)
	h.Set("Link", strings.Join(links, ", "))
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	h.Set("X-Total", strconv.Itoa(n))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	out := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, item(i))
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Start is the fake as the pipeline flow test takes it (cicdtest.Server):
// NewFlow's GitLab.
func Start(t *testing.T) cicdtest.Server { return NewFlow(t).Flow() }

// NewFlow is New with the flow test's projects: the member project team/app,
// whose pipelines succeed, and team/broken, whose pipelines fail; each
// created pipeline moves created, pending, running, then its verdict, one
// step per read (the gitlab-ci connector maps created and pending to
// queued).
func NewFlow(t *testing.T) *GitLab {
	t.Helper()
	f := New(t)
	f.AddCIProject(1, 1)
	f.mu.Lock()
	f.add(&fakeProject{path: "team/broken", defaultBranch: "main", branches: []string{"main"}, member: true, verdict: "failed"})
	f.mu.Unlock()
	return f
}

// Flow is f as a cicdtest.Server (f made by NewFlow).
func (f *GitLab) Flow() cicdtest.Server { return flow{f} }

// flow is GitLab as a cicdtest.Server.
type flow struct{ f *GitLab }

// URL is the fake's base URL.
func (s flow) URL() string { return s.f.URL() }

// Integration is a gitlab-ci integration of team/app with an api-scoped
// personal access token.
func (s flow) Integration(string) (map[string]any, string) {
	return map[string]any{"url": s.f.URL(), "projectId": "team/app"}, connectortest.TokenSecret(PatAPI)
}

// Pipeline names the flow pipeline whose runs end with verdict.
func (s flow) Pipeline(verdict contracts.PipelineRunStatus) string {
	if verdict == contracts.RunFailed {
		return "team/broken"
	}
	return "team/app"
}

// Ref is the branch the flow pipelines run on.
func (s flow) Ref() string { return "main" }

// Started counts the pipelines created in the project pipeline names and
// returns the variables of the last one.
func (s flow) Started(pipeline string) (int, map[string]string) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	p := s.f.project(pipeline)
	if p == nil {
		return 0, nil
	}
	n, params := 0, map[string]string(nil)
	for _, c := range s.f.created {
		if c.Project == p.id {
			n, params = n+1, map[string]string{}
			for _, v := range c.Variables {
				params[v.Key] = v.Value
			}
		}
	}
	return n, params
}
