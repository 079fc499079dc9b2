// Package teamcityfake is a TeamCity server's REST API as JetBrains'
// REST API reference documents it (rest/build.html, buildtypes.html,
// buildcancelrequest.html, locators.html, start-and-cancel-builds.html),
// for the teamcity connector's tests and the pipeline flow test
// (cicdtest.Server):
//
//   - every /app/rest call needs "Authorization: Bearer <access token>"
//     (guest access is off): none or an unknown token is 401 with
//     WWW-Authenticate and the plain-text "Authentication required" page;
//   - answers are JSON only for clients that ask (Accept:
//     application/json), XML otherwise; POSTed entities must be JSON or
//     XML (else 415);
//   - lists take a locator (?locator=count:N,start:M,affectedProject:(id:X)):
//     an unknown dimension or a count/start that is not a non-negative
//     integer is 400 (LocatorProcessException); a page that is not the last
//     names the next one in nextHref (same locator, start moved on);
//   - POST /app/rest/buildQueue takes a Build entity: buildType.id
//     (required), branchName, properties.property[name,value]; an unknown
//     build type is 404; a user without "Run build" gets 403; it answers
//     the queued build (state queued, href /app/rest/buildQueue/id:N);
//   - GET /app/rest/builds/id:N finds a build in any state: queued, then
//     running (number, status SUCCESS while nothing failed), then finished
//     with status SUCCESS or FAILURE; a cancelled build is finished with
//     status UNKNOWN and canceledInfo (number N/A when it never started);
//   - POST /app/rest/buildQueue/id:N with a buildCancelRequest removes a
//     queued build (404 once it left the queue); POST
//     /app/rest/builds/id:N with one stops a running build (400 "Cannot
//     cancel not running build." otherwise); both need the "Stop build /
//     remove from queue" permission;
//   - errors are text/plain: "Responding with error, status code: N
//     (Reason).\nDetails: <exception>: <message>".
//
// A build moves one state per read of it (GET /app/rest/builds/id:N):
// queued on the first read, running on the second, its build type's
// verdict from the third. TeamCity has no rate limit of its own; the proxy
// in front of it may answer 429 with Retry-After, which Throttle and
// ThrottleAll simulate. Calls are counted per route ("GET
// /app/rest/builds/id", "POST /app/rest/buildQueue").
package teamcityfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// The fake's access tokens (TeamCity tokens are JWT-like, three dotted
// parts). Alice may run and stop builds; Bob may only read.
const (
	AliceToken = "eyJ0eXAiOiAiVENWMiJ9.YWxpY2UtdG9rZW4tMQ.ZmFrZS1zaWduYXR1cmUtYWxpY2U"
	BobToken   = "eyJ0eXAiOiAiVENWMiJ9.Ym9iLXRva2VuLTI.ZmFrZS1zaWduYXR1cmUtYm9i"
)

// The build configurations every fake holds, in project Pipelines: runs of
// Green succeed, runs of Red fail.
const (
	GreenBuildType = "Pipelines_Green"
	RedBuildType   = "Pipelines_Red"
)

// Verdicts a build type's builds end with.
const (
	Success = "SUCCESS"
	Failure = "FAILURE"
)

// Build is a build as the fake holds it, for tests to inspect.
type Build struct {
	ID         int
	BuildType  string
	Branch     string
	Params     map[string]string
	State      string // queued, running, finished
	Status     string // "" while queued, SUCCESS, FAILURE, UNKNOWN (cancelled)
	Number     string
	Cancelled  bool
	CancelNote string
	reads      int
}

type user struct {
	username string
	name     string
	id       int
	run      bool // "Run build" and "Stop build / remove from queue"
}

type project struct{ id, name, parent string }

type buildType struct {
	id, name, project string
	verdict           string
}

// Server is a fake TeamCity server.
type Server struct {
	srv *httptest.Server

	mu         sync.Mutex
	users      map[string]user // by token
	projects   []project       // _Root first
	buildTypes []buildType
	builds     []*Build
	// Routes counts calls by route and scripts 429s (Throttle,
	// ThrottleAll, Count).
	fakehttp.Routes
}

var _ cicdtest.Server = (*Server)(nil)

// New starts a fake holding the root project and project Pipelines with
// build types Pipelines_Green and Pipelines_Red; t.Cleanup stops it.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		users: map[string]user{
			AliceToken: {username: "alice", name: "Alice Release", id: 1, run: true},
			BobToken:   {username: "bob", name: "Bob Reader", id: 2},
		},
		projects: []project{{id: "_Root", name: "<Root project>"}, {id: "Pipelines", name: "Pipelines", parent: "_Root"}},
	}
	s.buildTypes = []buildType{
		{id: GreenBuildType, name: "Green", project: "Pipelines", verdict: Success},
		{id: RedBuildType, name: "Red", project: "Pipelines", verdict: Failure},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's root URL.
func (s *Server) URL() string { return s.srv.URL }

// Integration is a config pointing at the fake and Alice's token as the
// secret behind its credential reference.
func (s *Server) Integration(string) (map[string]any, string) {
	return map[string]any{"url": s.srv.URL}, connectortest.TokenSecret(AliceToken)
}

// Pipeline names the build type whose builds end with verdict.
func (s *Server) Pipeline(verdict contracts.PipelineRunStatus) string {
	if verdict == contracts.RunFailed {
		return RedBuildType
	}
	return GreenBuildType
}

// Ref is the branch builds are queued on.
func (s *Server) Ref() string { return "main" }

// Started reports how many builds of buildType were queued and the
// parameters of the last one.
func (s *Server) Started(buildType string) (int, map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, params := 0, map[string]string(nil)
	for _, b := range s.builds {
		if b.BuildType == buildType {
			n, params = n+1, maps.Clone(b.Params)
		}
	}
	return n, params
}

// AddProject adds a project under parent ("" = the root project).
func (s *Server) AddProject(id, name, parent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if parent == "" {
		parent = "_Root"
	}
	s.projects = append(s.projects, project{id: id, name: name, parent: parent})
}

// AddBuildType adds a build configuration to a project; its builds
// succeed.
func (s *Server) AddBuildType(id, name, projectID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buildTypes = append(s.buildTypes, buildType{id: id, name: name, project: projectID, verdict: Success})
}

// SetVerdict makes the following builds of buildType end with verdict
// (Success or Failure).
func (s *Server) SetVerdict(buildType, verdict string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.buildTypes {
		if s.buildTypes[i].id == buildType {
			s.buildTypes[i].verdict = verdict
		}
	}
}

// Builds returns a copy of every build, in the order they were queued.
func (s *Server) Builds() []Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Build, len(s.builds))
	for i, b := range s.builds {
		out[i] = *b
		out[i].Params = maps.Clone(b.Params)
	}
	return out
}

// routeOf names the route of an escaped path: a build locator segment
// becomes "id" (/app/rest/builds/id:7 → /app/rest/builds/id), and the
// locator is returned.
func routeOf(path string) (string, string) {
	for _, prefix := range []string{"/app/rest/builds/", "/app/rest/buildQueue/"} {
		if loc, ok := strings.CutPrefix(path, prefix); ok && loc != "" && !strings.Contains(loc, "/") {
			unescaped, err := url.PathUnescape(loc)
			if err != nil {
				unescaped = loc
			}
			return prefix + "id", unescaped
		}
	}
	return path, ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("TeamCity-Node-Id", "MAIN_SERVER")
	path, locator := routeOf(r.URL.EscapedPath())
	route := r.Method + " " + path
	if retryAfter, throttled := s.Call(route); throttled {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintln(w, "Too Many Requests")
		return
	}
	if !strings.HasPrefix(path, "/app/rest/") {
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, "<html><body>Not Found</body></html>")
		return
	}
	u, ok := s.users[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.Header().Add("WWW-Authenticate", `Basic realm="TeamCity"`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="TeamCity"`)
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "Authentication required\nTo login manually go to \"/login.html\" page")
		return
	}
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/json" && ct != "application/xml" {
			restError(w, http.StatusUnsupportedMediaType, "javax.ws.rs.NotSupportedException", "HTTP 415 Unsupported Media Type")
			return
		}
	}
	switch route {
	case "GET /app/rest/server":
		s.render(w, r, "server", map[string]any{"version": "2025.07.1 (build 197398)", "versionMajor": 2025, "versionMinor": 7,
			"buildNumber": "197398", "webUrl": s.srv.URL, "projects": map[string]any{"href": "/app/rest/projects"}})
	case "GET /app/rest/users/current":
		s.render(w, r, "user", map[string]any{"username": u.username, "name": u.name, "id": u.id, "href": fmt.Sprintf("/app/rest/users/id:%d", u.id)})
	case "GET /app/rest/projects":
		s.listProjects(w, r)
	case "GET /app/rest/buildTypes":
		s.listBuildTypes(w, r)
	case "POST /app/rest/buildQueue":
		s.queue(w, r, u)
	case "GET /app/rest/builds/id":
		b, ok := s.findBuild(w, locator, "build")
		if !ok {
			return
		}
		s.advance(b)
		s.render(w, r, "build", s.buildJSON(b))
	case "POST /app/rest/buildQueue/id", "POST /app/rest/builds/id":
		s.cancel(w, r, u, locator, route == "POST /app/rest/buildQueue/id")
	default:
		restError(w, http.StatusNotFound, "jetbrains.buildServer.server.rest.errors.NotFoundException",
			"Nothing is found by the request path "+r.URL.Path)
	}
}

// restError writes TeamCity's plain-text error answer.
func restError(w http.ResponseWriter, status int, exception, message string) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.WriteHeader(status)
	hint := ""
	switch status {
	case http.StatusNotFound:
		hint = "\nCould not find the entity requested. Check the reference is correct and the user has permissions to access the entity."
	case http.StatusForbidden:
		hint = "\nAccess denied. Check the user has enough permissions to perform the operation."
	case http.StatusBadRequest:
		hint = "\nInvalid request. Please check the request URL and data are correct."
	}
	fmt.Fprintf(w, "Responding with error, status code: %d (%s).\nDetails: %s: %s%s", status, http.StatusText(status), exception, message, hint)
}

// render answers v as JSON to a client that accepts it, as XML (the
// entity's root element only: the connector must ask for JSON) otherwise.
func (s *Server) render(w http.ResponseWriter, r *http.Request, entity string, v any) {
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/xml;charset=ISO-8859-1")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><%s/>`, entity)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

// locator is a parsed locator: dimension → value (parentheses removed).
type locator map[string]string

// parseLocator reads "dim:value,dim:(nested,locator)"; known lists the
// dimensions the endpoint supports.
func parseLocator(raw string, known ...string) (locator, error) {
	out := locator{}
	if raw == "" {
		return out, nil
	}
	for len(raw) > 0 {
		name, rest, ok := strings.Cut(raw, ":")
		if !ok || name == "" {
			//lint:ignore ST1005 the text is TeamCity's own error message, which the fake answers with
			return nil, fmt.Errorf("Invalid locator '%s': Bad locator syntax: no dimension value", raw)
		}
		var value string
		if strings.HasPrefix(rest, "(") {
			depth, end := 0, -1
			for i, c := range rest {
				if c == '(' {
					depth++
				} else if c == ')' {
					if depth--; depth == 0 {
						end = i
						break
					}
				}
			}
			if end < 0 {
				//lint:ignore ST1005 the text is TeamCity's own error message, which the fake answers with
				return nil, fmt.Errorf("Invalid locator '%s': Bad locator syntax: could not find closing ')'", raw)
			}
			value, rest = rest[1:end], rest[end+1:]
		} else {
			i := strings.IndexByte(rest, ',')
			if i < 0 {
				i = len(rest)
			}
			value, rest = rest[:i], rest[i:]
		}
		if !slices.Contains(known, name) {
			//lint:ignore ST1005 the text is TeamCity's own error message, which the fake answers with
			return nil, fmt.Errorf("Invalid locator '%s': Locator dimension '%s' is unknown. Supported dimensions are: [%s]", raw, name, strings.Join(known, ", "))
		}
		out[name] = value
		if rest != "" && !strings.HasPrefix(rest, ",") {
			//lint:ignore ST1005 the text is TeamCity's own error message, which the fake answers with
			return nil, fmt.Errorf("Invalid locator '%s': Bad locator syntax after '%s'", raw, value)
		}
		raw = strings.TrimPrefix(rest, ",")
	}
	return out, nil
}

// page reads count and start of a list locator; count 0 means all.
func (l locator) page() (count, start int, err error) {
	for _, d := range []struct {
		name string
		into *int
	}{{"count", &count}, {"start", &start}} {
		v, ok := l[d.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			//lint:ignore ST1005 the text is TeamCity's own error message, which the fake answers with
			return 0, 0, fmt.Errorf("Invalid value of dimension '%s': '%s'. Should be a non-negative number", d.name, v)
		}
		*d.into = n
	}
	return count, start, nil
}

// affected resolves an affectedProject:(id:X) dimension: whether the
// project with id under sits (at any depth) below it; ok false when X is
// unknown.
func (s *Server) affected(l locator) (func(projectID string) bool, string, bool) {
	v, ok := l["affectedProject"]
	if !ok {
		return func(string) bool { return true }, "", true
	}
	id := strings.TrimPrefix(v, "id:")
	if !slices.ContainsFunc(s.projects, func(p project) bool { return p.id == id }) {
		return nil, id, false
	}
	return func(p string) bool { return s.isUnder(p, id) }, id, true
}

// isUnder reports whether project p is root itself or below it.
func (s *Server) isUnder(p, root string) bool {
	for p != "" {
		if p == root {
			return true
		}
		i := slices.IndexFunc(s.projects, func(x project) bool { return x.id == p })
		if i < 0 {
			return false
		}
		p = s.projects[i].parent
	}
	return false
}

// window cuts items to the locator's page and renders the collection's
// count, href and nextHref.
func window[T any](path, raw string, l locator, items []T) ([]T, map[string]any) {
	count, start, _ := l.page()
	all := len(items)
	items = items[min(start, all):]
	if count > 0 && len(items) > count {
		items = items[:count]
	}
	out := map[string]any{"count": len(items), "href": path + "?locator=" + raw}
	if count > 0 && start+count < all {
		next := locator{}
		maps.Copy(next, l)
		next["start"] = strconv.Itoa(start + count)
		out["nextHref"] = path + "?locator=" + next.String()
	}
	return items, out
}

// String renders the locator with count and start first, as TeamCity does.
func (l locator) String() string {
	var parts []string
	for _, k := range []string{"count", "start"} {
		if v, ok := l[k]; ok {
			parts = append(parts, k+":"+v)
		}
	}
	keys := slices.Sorted(maps.Keys(l))
	for _, k := range keys {
		if k == "count" || k == "start" {
			continue
		}
		v := l[k]
		if strings.ContainsAny(v, ",:()") {
			v = "(" + v + ")"
		}
		parts = append(parts, k+":"+v)
	}
	return strings.Join(parts, ",")
}

// listLocator parses the request's locator for a list endpoint; false when
// it answered.
func (s *Server) listLocator(w http.ResponseWriter, r *http.Request, known ...string) (locator, string, bool) {
	raw := r.URL.Query().Get("locator")
	l, err := parseLocator(raw, known...)
	if err == nil {
		_, _, err = l.page()
	}
	if err != nil {
		restError(w, http.StatusBadRequest, "jetbrains.buildServer.server.rest.errors.LocatorProcessException", err.Error())
		return nil, "", false
	}
	return l, raw, true
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	l, raw, ok := s.listLocator(w, r, "count", "start", "affectedProject", "archived")
	if !ok {
		return
	}
	under, id, ok := s.affected(l)
	if !ok {
		restError(w, http.StatusNotFound, "jetbrains.buildServer.server.rest.errors.NotFoundException", "No project found by locator 'id:"+id+"'. Project cannot be found by external id '"+id+"'.")
		return
	}
	var items []map[string]any
	for _, p := range s.projects {
		// affectedProject lists what is below the project, not itself.
		if !under(p.id) || (id != "" && p.id == id) {
			continue
		}
		m := map[string]any{"id": p.id, "name": p.name, "href": "/app/rest/projects/id:" + p.id, "webUrl": s.srv.URL + "/project/" + p.id}
		if p.parent != "" {
			m["parentProjectId"] = p.parent
		}
		items = append(items, m)
	}
	items, out := window("/app/rest/projects", raw, l, items)
	out["project"] = nonNil(items)
	s.render(w, r, "projects", out)
}

func (s *Server) listBuildTypes(w http.ResponseWriter, r *http.Request) {
	l, raw, ok := s.listLocator(w, r, "count", "start", "affectedProject", "paused")
	if !ok {
		return
	}
	under, id, ok := s.affected(l)
	if !ok {
		restError(w, http.StatusNotFound, "jetbrains.buildServer.server.rest.errors.NotFoundException", "No project found by locator 'id:"+id+"'. Project cannot be found by external id '"+id+"'.")
		return
	}
	var items []map[string]any
	for _, bt := range s.buildTypes {
		if under(bt.project) {
			items = append(items, s.buildTypeJSON(bt))
		}
	}
	items, out := window("/app/rest/buildTypes", raw, l, items)
	out["buildType"] = nonNil(items)
	s.render(w, r, "buildTypes", out)
}

func nonNil(items []map[string]any) []map[string]any {
	if items == nil {
		return []map[string]any{}
	}
	return items
}

func (s *Server) buildTypeJSON(bt buildType) map[string]any {
	name := bt.project
	if i := slices.IndexFunc(s.projects, func(p project) bool { return p.id == bt.project }); i >= 0 {
		name = s.projects[i].name
	}
	return map[string]any{"id": bt.id, "name": bt.name, "projectName": name, "projectId": bt.project,
		"href": "/app/rest/buildTypes/id:" + bt.id, "webUrl": s.srv.URL + "/buildConfiguration/" + bt.id}
}

// queue answers POST /app/rest/buildQueue.
func (s *Server) queue(w http.ResponseWriter, r *http.Request, u user) {
	var body struct {
		BuildType *struct {
			ID string `json:"id"`
		} `json:"buildType"`
		BranchName string `json:"branchName"`
		Properties *struct {
			Property []struct {
				Name  string  `json:"name"`
				Value *string `json:"value"`
			} `json:"property"`
		} `json:"properties"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		restError(w, http.StatusBadRequest, "jetbrains.buildServer.server.rest.errors.BadRequestException", "Could not parse the posted build entity: "+err.Error())
		return
	}
	if body.BuildType == nil || body.BuildType.ID == "" {
		restError(w, http.StatusBadRequest, "jetbrains.buildServer.server.rest.errors.BadRequestException", "No 'buildType' element in the posted entity.")
		return
	}
	i := slices.IndexFunc(s.buildTypes, func(bt buildType) bool { return bt.id == body.BuildType.ID })
	if i < 0 {
		restError(w, http.StatusNotFound, "jetbrains.buildServer.server.rest.errors.NotFoundException", "No build type nor template is found by id '"+body.BuildType.ID+"'.")
		return
	}
	if !u.run {
		restError(w, http.StatusForbidden, "jetbrains.buildServer.server.rest.errors.AuthorizationFailedException",
			fmt.Sprintf("You do not have \"Run build\" permission in project with internal id: 'project%d'", i+2))
		return
	}
	params := map[string]string{}
	if body.Properties != nil {
		for _, p := range body.Properties.Property {
			if p.Name == "" || p.Value == nil {
				restError(w, http.StatusBadRequest, "jetbrains.buildServer.server.rest.errors.BadRequestException", "Property name and value should not be empty")
				return
			}
			params[p.Name] = *p.Value
		}
	}
	b := &Build{ID: 100 + len(s.builds) + 1, BuildType: body.BuildType.ID, Branch: body.BranchName, Params: params, State: "queued"}
	s.builds = append(s.builds, b)
	s.render(w, r, "build", s.buildJSON(b))
}

// findBuild resolves a build locator (id:N, or N); false when it
// answered.
func (s *Server) findBuild(w http.ResponseWriter, raw, kind string) (*Build, bool) {
	l, err := parseLocator(raw, "id")
	if err != nil && !strings.Contains(raw, ":") {
		l, err = locator{"id": raw}, nil
	}
	if err != nil {
		restError(w, http.StatusBadRequest, "jetbrains.buildServer.server.rest.errors.LocatorProcessException", err.Error())
		return nil, false
	}
	id, err := strconv.Atoi(l["id"])
	if err != nil {
		restError(w, http.StatusBadRequest, "jetbrains.buildServer.server.rest.errors.LocatorProcessException",
			fmt.Sprintf("Invalid value of dimension 'id': '%s'. Should be a number", l["id"]))
		return nil, false
	}
	for _, b := range s.builds {
		if b.ID == id && (kind != "queued build" || b.State == "queued") {
			return b, true
		}
	}
	restError(w, http.StatusNotFound, "jetbrains.buildServer.server.rest.errors.NotFoundException", fmt.Sprintf("No %s found by locator 'id:%d'.", kind, id))
	return nil, false
}

// advance moves a build one state on: queued, running, verdict.
func (s *Server) advance(b *Build) {
	if b.State == "finished" {
		return
	}
	b.reads++
	switch {
	case b.reads == 2:
		b.State, b.Status = "running", Success
		b.Number = strconv.Itoa(s.numberOf(b))
	case b.reads >= 3:
		b.State = "finished"
		i := slices.IndexFunc(s.buildTypes, func(bt buildType) bool { return bt.id == b.BuildType })
		b.Status = s.buildTypes[i].verdict
	}
}

// numberOf is the build's number in its build type: one more than the
// builds of the type that started before it.
func (s *Server) numberOf(b *Build) int {
	n := 1
	for _, o := range s.builds {
		if o != b && o.BuildType == b.BuildType && o.Number != "" && o.Number != "N/A" {
			n++
		}
	}
	return n
}

func (s *Server) buildJSON(b *Build) map[string]any {
	i := slices.IndexFunc(s.buildTypes, func(bt buildType) bool { return bt.id == b.BuildType })
	m := map[string]any{"id": b.ID, "buildTypeId": b.BuildType, "state": b.State,
		"href": fmt.Sprintf("/app/rest/builds/id:%d", b.ID), "webUrl": fmt.Sprintf("%s/buildConfiguration/%s/%d", s.srv.URL, b.BuildType, b.ID),
		"buildType": s.buildTypeJSON(s.buildTypes[i]), "queuedDate": "20261206T120000+0000"}
	if b.Branch != "" {
		m["branchName"] = b.Branch
	}
	if b.Number != "" {
		m["number"] = b.Number
	}
	if b.Status != "" {
		m["status"] = b.Status
	}
	props := []map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(b.Params)) {
		props = append(props, map[string]any{"name": k, "value": b.Params[k]})
	}
	m["properties"] = map[string]any{"count": len(props), "property": props}
	switch b.State {
	case "queued":
		m["href"] = fmt.Sprintf("/app/rest/buildQueue/id:%d", b.ID)
		m["webUrl"] = fmt.Sprintf("%s/viewQueued.html?itemId=%d", s.srv.URL, b.ID)
		m["waitReason"] = "Waiting for a compatible agent"
	case "running":
		m["running"], m["percentageComplete"] = true, 50
		m["running-info"] = map[string]any{"percentageComplete": 50, "elapsedSeconds": 30, "estimatedTotalSeconds": 60, "currentStageText": "Step 1/2: Gradle"}
		m["startDate"] = "20261206T120010+0000"
	case "finished":
		m["finishDate"] = "20261206T120110+0000"
		m["statusText"] = map[string]string{Success: "Success", Failure: "Tests failed: 1, passed: 41", "UNKNOWN": "Canceled"}[b.Status]
	}
	if b.Cancelled {
		m["canceledInfo"] = map[string]any{"user": map[string]any{"username": "alice"}, "timestamp": "20261206T120030+0000", "text": b.CancelNote}
	}
	return m
}

// cancel answers a buildCancelRequest POSTed to the queue (queue true) or
// to a build.
func (s *Server) cancel(w http.ResponseWriter, r *http.Request, u user, raw string, queue bool) {
	var body struct {
		Comment        string `json:"comment"`
		ReaddIntoQueue bool   `json:"readdIntoQueue"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		restError(w, http.StatusBadRequest, "jetbrains.buildServer.server.rest.errors.BadRequestException", "Could not parse the posted buildCancelRequest: "+err.Error())
		return
	}
	kind := "build"
	if queue {
		kind = "queued build"
	}
	b, ok := s.findBuild(w, raw, kind)
	if !ok {
		return
	}
	if !u.run {
		restError(w, http.StatusForbidden, "jetbrains.buildServer.server.rest.errors.AuthorizationFailedException",
			"You do not have \"Stop build / remove from queue\" permission in project with internal id: 'project2'")
		return
	}
	if !queue && b.State != "running" {
		restError(w, http.StatusBadRequest, "jetbrains.buildServer.server.rest.errors.BadRequestException", "Cannot cancel not running build.")
		return
	}
	if queue {
		b.Number = "N/A"
	}
	b.State, b.Status, b.Cancelled, b.CancelNote = "finished", "UNKNOWN", true, body.Comment
	if body.ReaddIntoQueue && !queue {
		s.builds = append(s.builds, &Build{ID: 100 + len(s.builds) + 1, BuildType: b.BuildType, Branch: b.Branch, Params: maps.Clone(b.Params), State: "queued"})
	}
	s.render(w, r, "build", s.buildJSON(b))
}
