// Package dronefake is a Drone server's REST API as Drone's API reference
// (docs.drone.io/api: repos, builds, user) and its server's handlers
// describe it, for the drone connector's tests and the pipeline flow test
// (cicdtest.Server):
//
//   - a token goes in "Authorization: Bearer"; a request without a known
//     token is a guest's: /api/user and /api/user/repos answer it 401, a
//     repository path answers it 401 too (Drone cannot tell a guest that a
//     private repository exists);
//   - an authenticated user without the access a route needs gets 404, not
//     403: POST and DELETE on builds need write access;
//   - errors are JSON {"message": "..."}: "Unauthorized", "Not Found", and
//     strconv's text for a build number that is no number (400);
//   - POST /api/repos/{owner}/{name}/builds?branch=&commit=&KEY=VALUE starts
//     a custom build of the branch (the default branch when none) or
//     commit: a branch or commit the repository does not have is 404;
//     every other query parameter but access_token becomes a build
//     parameter; a build the triggerer skips (a [ci skip] commit, no
//     pipeline matching) answers 200 with a null body;
//   - GET …/builds/{number} answers the build with its stages and steps;
//     DELETE …/builds/{number} kills a pending or running build (stages and
//     steps that started are killed, the others skipped) and answers it;
//     a finished build is left alone;
//   - GET …/builds?page=&per_page= lists builds newest first; per_page
//     outside 1…100 is 25 and a page that is no number is the first, as
//     Drone's handler reads them (strconv errors ignored);
//   - GET /api/user/repos answers every repository of the user at once:
//     Drone does not page it.
//
// A build moves one state per read of it (GET …/builds/{number}): pending
// on the first read, running on the second, its repository's verdict from
// the third. Drone has no rate limit of its own; the proxy in front of it
// may answer 429 with Retry-After, which Throttle and ThrottleAll
// simulate. Calls are counted per route ("GET /api/repos/:owner/:name/builds/:number").
package dronefake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
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

// The fake's tokens (Drone's are 32 random characters). Alice may write
// to every repository; Bob may only read.
const (
	AliceToken = "d2VsY29tZS1hbGljZS10b2tlbi0wMDAx"
	BobToken   = "Ym9iLXJlYWQtb25seS10b2tlbi0wMDAy"
)

// The repositories every fake holds: builds of HelloWorld succeed, builds
// of Broken fail.
const (
	HelloWorld = "octocat/hello-world"
	Broken     = "octocat/broken"
)

// Build statuses, as Drone reports them.
const (
	Pending = "pending"
	Running = "running"
	Success = "success"
	Failure = "failure"
	Killed  = "killed"
	Skipped = "skipped"
)

// Build is a build as the fake holds it, for tests to inspect.
type Build struct {
	Number int64
	Repo   string
	Status string
	Ref    string
	Commit string
	Params map[string]string
	Stages []Stage
	reads  int
}

// Stage is a build's stage with its steps.
type Stage struct {
	Number int
	Name   string
	Status string
	Steps  []Step
}

// Step is one step of a stage.
type Step struct {
	Number int
	Name   string
	Status string
}

type user struct {
	id    int64
	login string
	write bool
}

// Repo is a repository the fake holds.
type Repo struct {
	Owner, Name   string
	DefaultBranch string
	Branches      []string
	Active        bool
	Private       bool
	// Verdict is the status its builds end with (Success or Failure).
	Verdict string
	// SkipBuilds makes the triggerer skip every build (null answer).
	SkipBuilds bool
}

func (r Repo) slug() string { return r.Owner + "/" + r.Name }

// Server is a fake Drone server.
type Server struct {
	srv *httptest.Server

	mu     sync.Mutex
	users  map[string]user // by token
	repos  []*Repo
	builds map[string][]*Build // by slug, oldest first
	// Routes counts calls by route and scripts 429s (Throttle,
	// ThrottleAll, Count).
	fakehttp.Routes
}

var _ cicdtest.Server = (*Server)(nil)

// New starts a fake holding HelloWorld and Broken (branches main and
// release/1.0); t.Cleanup stops it.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		users: map[string]user{
			AliceToken: {id: 1, login: "alice", write: true},
			BobToken:   {id: 2, login: "bob"},
		},
		builds: map[string][]*Build{},
	}
	s.repos = []*Repo{
		{Owner: "octocat", Name: "hello-world", DefaultBranch: "main", Branches: []string{"main", "release/1.0"}, Active: true, Verdict: Success},
		{Owner: "octocat", Name: "broken", DefaultBranch: "main", Branches: []string{"main"}, Active: true, Private: true, Verdict: Failure},
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

// Pipeline names the repository whose builds end with verdict.
func (s *Server) Pipeline(verdict contracts.PipelineRunStatus) string {
	if verdict == contracts.RunFailed {
		return Broken
	}
	return HelloWorld
}

// Ref is the branch builds are started on.
func (s *Server) Ref() string { return "main" }

// Started reports how many builds of the repository slug were started and
// the parameters of the last one.
func (s *Server) Started(slug string) (int, map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.builds[slug]
	if len(b) == 0 {
		return 0, nil
	}
	return len(b), maps.Clone(b[len(b)-1].Params)
}

// AddRepo adds a repository; an empty Verdict is Success, an empty
// DefaultBranch main.
func (s *Server) AddRepo(r Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Verdict == "" {
		r.Verdict = Success
	}
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	if !slices.Contains(r.Branches, r.DefaultBranch) {
		r.Branches = append(r.Branches, r.DefaultBranch)
	}
	s.repos = append(s.repos, &r)
}

// AddHistory adds n finished builds (alternately success and failure) to
// the repository slug's history.
func (s *Server) AddHistory(slug string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		status := Success
		if i%2 == 1 {
			status = Failure
		}
		s.builds[slug] = append(s.builds[slug], &Build{Number: int64(len(s.builds[slug]) + 1), Repo: slug, Status: status,
			Ref: "refs/heads/main", Commit: sha(slug, "main"), Params: map[string]string{}, reads: 3})
	}
}

// Builds returns a copy of the repository slug's builds, oldest first.
func (s *Server) Builds(slug string) []Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Build
	for _, b := range s.builds[slug] {
		c := *b
		c.Params = maps.Clone(b.Params)
		c.Stages = slices.Clone(b.Stages)
		for i := range c.Stages {
			c.Stages[i].Steps = slices.Clone(c.Stages[i].Steps)
		}
		out = append(out, c)
	}
	return out
}

// SignWebhook returns the headers Drone's webhook sender puts on a global
// webhook delivering body, signed with secret at date: X-Drone-Event,
// Digest (SHA-256= and the base64 SHA-256 of the body), Date (HTTP date)
// and the HTTP Signature over date and digest (draft-cavage hmac-sha256,
// keyId hmac-key, as 99designs/httpsignatures-go renders it).
func SignWebhook(secret string, body []byte, date time.Time) http.Header {
	sum := sha256.Sum256(body)
	h := http.Header{}
	h.Set("X-Drone-Event", "build")
	h.Set("Content-Type", "application/json")
	h.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	h.Set("Date", date.UTC().Format(http.TimeFormat))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("date: " + h.Get("Date") + "\ndigest: " + h.Get("Digest")))
	h.Set("Signature", fmt.Sprintf(`keyId="hmac-key",algorithm="hmac-sha256",signature="%s",headers="date digest"`,
		base64.StdEncoding.EncodeToString(mac.Sum(nil))))
	return h
}

// Commit is the sha of the head commit of branch in the repository slug.
func Commit(slug, branch string) string { return sha(slug, branch) }

// sha is a commit's made-up, stable sha.
func sha(slug, branch string) string {
	h := uint64(14695981039346656037)
	for _, c := range slug + "@" + branch {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return fmt.Sprintf("%016x%016x%08x", h, h*31, uint32(h))
}

// route names a request by pattern and returns the path's parameters.
func route(method, path string) (string, []string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) >= 4 && segs[0] == "api" && segs[1] == "repos" {
		params := segs[2:4]
		pattern := "/api/repos/:owner/:name"
		if len(segs) >= 5 {
			pattern += "/" + segs[4]
		}
		if len(segs) == 6 && segs[4] == "builds" {
			pattern += "/:number"
			params = append(params, segs[5])
		}
		if len(segs) > 6 {
			pattern += "/…"
		}
		return method + " " + pattern, params
	}
	return method + " " + path, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, params := route(r.Method, r.URL.Path)
	if retryAfter, throttled := s.Call(rt); throttled {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintln(w, "<html><body><h1>429 Too Many Requests</h1></body></html>")
		return
	}
	u, authed := s.users[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	authed = authed && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch rt {
	case "GET /api/user":
		if !authed {
			s.fail(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		s.json(w, http.StatusOK, map[string]any{"id": u.id, "login": u.login, "email": u.login + "@example.com", "machine": false,
			"admin": false, "active": true, "avatar": "", "syncing": false, "synced": 1764979200, "created": 1764979200, "updated": 1764979200})
		return
	case "GET /api/user/repos":
		if !authed {
			s.fail(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		out := []any{}
		for _, repo := range s.repos {
			out = append(out, s.repoJSON(repo))
		}
		s.json(w, http.StatusOK, out)
		return
	}
	if len(params) < 2 || !strings.HasPrefix(rt, r.Method+" /api/repos/:owner/:name") {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	i := slices.IndexFunc(s.repos, func(x *Repo) bool { return x.Owner == params[0] && x.Name == params[1] })
	switch {
	case i < 0 && !authed, i >= 0 && !authed && s.repos[i].Private:
		s.fail(w, http.StatusUnauthorized, "Unauthorized")
		return
	case i < 0:
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	repo := s.repos[i]
	write := r.Method != http.MethodGet
	if write && (!authed || !u.write) {
		if !authed {
			s.fail(w, http.StatusUnauthorized, "Unauthorized")
		} else {
			s.fail(w, http.StatusNotFound, "Not Found")
		}
		return
	}
	switch strings.TrimPrefix(rt, r.Method+" ") {
	case "/api/repos/:owner/:name/builds":
		if r.Method == http.MethodPost {
			s.create(w, r, u, repo)
		} else if r.Method == http.MethodGet {
			s.list(w, r, repo)
		} else {
			s.fail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
	case "/api/repos/:owner/:name/builds/:number":
		n, err := strconv.ParseInt(params[2], 10, 64)
		if err != nil {
			s.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		bi := slices.IndexFunc(s.builds[repo.slug()], func(b *Build) bool { return b.Number == n })
		if bi < 0 || (r.Method != http.MethodGet && r.Method != http.MethodDelete) {
			s.fail(w, http.StatusNotFound, "sql: no rows in result set")
			return
		}
		b := s.builds[repo.slug()][bi]
		if r.Method == http.MethodGet {
			s.advance(repo, b)
		} else {
			cancel(b)
		}
		s.json(w, http.StatusOK, s.buildJSON(repo, b, true))
	default:
		s.fail(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) fail(w http.ResponseWriter, status int, message string) {
	s.json(w, status, map[string]string{"message": message})
}

func (s *Server) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) repoJSON(r *Repo) map[string]any {
	visibility := "public"
	if r.Private {
		visibility = "private"
	}
	return map[string]any{"id": len(r.slug()), "uid": sha(r.slug(), "")[:8], "user_id": 1, "namespace": r.Owner, "name": r.Name, "slug": r.slug(),
		"scm": "git", "git_http_url": "https://git.example.com/" + r.slug() + ".git", "git_ssh_url": "git@git.example.com:" + r.slug() + ".git",
		"link": "https://git.example.com/" + r.slug(), "default_branch": r.DefaultBranch, "private": r.Private, "visibility": visibility,
		"active": r.Active, "config_path": ".drone.yml", "trusted": false, "protected": false, "timeout": 60,
		"counter": len(s.builds[r.slug()]), "synced": 1764979200, "created": 1764979200, "updated": 1764979200, "version": 1, "archived": false}
}

// create answers POST …/builds: Drone's HandleCreate.
func (s *Server) create(w http.ResponseWriter, r *http.Request, u user, repo *Repo) {
	q := r.URL.Query()
	branch, commit := q.Get("branch"), q.Get("commit")
	if branch == "" {
		branch = repo.DefaultBranch
	}
	if !slices.Contains(repo.Branches, branch) {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	if commit != "" && !slices.ContainsFunc(repo.Branches, func(b string) bool { return sha(repo.slug(), b) == commit }) {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	if commit == "" {
		commit = sha(repo.slug(), branch)
	}
	if repo.SkipBuilds {
		s.json(w, http.StatusOK, nil)
		return
	}
	params := map[string]string{}
	for k, v := range q {
		if k == "access_token" || k == "commit" || k == "branch" || len(v) == 0 {
			continue
		}
		params[k] = v[0]
	}
	b := &Build{Number: int64(len(s.builds[repo.slug()]) + 1), Repo: repo.slug(), Status: Pending,
		Ref: "refs/heads/" + branch, Commit: commit, Params: params,
		Stages: []Stage{{Number: 1, Name: "default", Status: Pending, Steps: []Step{
			{Number: 1, Name: "clone", Status: Pending}, {Number: 2, Name: "build", Status: Pending}, {Number: 3, Name: "test", Status: Pending}}}},
	}
	s.builds[repo.slug()] = append(s.builds[repo.slug()], b)
	m := s.buildJSON(repo, b, false)
	m["sender"], m["trigger"] = u.login, u.login
	s.json(w, http.StatusOK, m)
}

// list answers GET …/builds, newest first, as Drone reads page and
// per_page.
func (s *Server) list(w http.ResponseWriter, r *http.Request, repo *Repo) {
	offset, _ := strconv.Atoi(r.FormValue("page"))
	limit, _ := strconv.Atoi(r.FormValue("per_page"))
	if limit < 1 || limit > 100 {
		limit = 25
	}
	if offset <= 1 {
		offset = 0
	} else {
		offset = (offset - 1) * limit
	}
	all := slices.Clone(s.builds[repo.slug()])
	slices.Reverse(all)
	out := []any{}
	for _, b := range all[min(offset, len(all)):min(offset+limit, len(all))] {
		out = append(out, s.buildJSON(repo, b, false))
	}
	s.json(w, http.StatusOK, out)
}

// advance moves a build one state on: pending, running, verdict.
func (s *Server) advance(repo *Repo, b *Build) {
	if b.Status != Pending && b.Status != Running {
		return
	}
	b.reads++
	st := &b.Stages[0]
	switch {
	case b.reads == 2:
		b.Status, st.Status = Running, Running
		st.Steps[0].Status, st.Steps[1].Status = Success, Running
	case b.reads >= 3:
		b.Status, st.Status = repo.Verdict, repo.Verdict
		st.Steps[1].Status, st.Steps[2].Status = Success, repo.Verdict
	}
}

// cancel is Drone's HandleCancel: a pending or running build is killed,
// its unfinished stages and steps killed when started, skipped otherwise.
func cancel(b *Build) {
	if b.Status != Pending && b.Status != Running {
		return
	}
	b.Status = Killed
	for i := range b.Stages {
		st := &b.Stages[i]
		if st.Status != Pending && st.Status != Running {
			continue
		}
		if st.Status == Running {
			st.Status = Killed
		} else {
			st.Status = Skipped
		}
		for j := range st.Steps {
			switch st.Steps[j].Status {
			case Running:
				st.Steps[j].Status = Killed
			case Pending:
				st.Steps[j].Status = Skipped
			}
		}
	}
}

func (s *Server) buildJSON(repo *Repo, b *Build, stages bool) map[string]any {
	branch := strings.TrimPrefix(b.Ref, "refs/heads/")
	m := map[string]any{"id": 1000 + b.Number, "repo_id": len(repo.slug()), "trigger": "alice", "number": b.Number, "status": b.Status,
		"event": "custom", "action": "", "link": "https://git.example.com/" + repo.slug() + "/commit/" + b.Commit, "timestamp": 1764979200,
		"message": "Update README", "before": b.Commit, "after": b.Commit, "ref": b.Ref, "source_repo": "", "source": branch, "target": branch,
		"author_login": "octocat", "author_name": "The Octocat", "author_email": "octocat@example.com", "author_avatar": "", "sender": "alice",
		"started": 0, "finished": 0, "created": 1764979200, "updated": 1764979200, "version": b.reads + 1}
	if len(b.Params) > 0 {
		m["params"] = b.Params
	}
	if b.Status != Pending {
		m["started"] = 1764979210
	}
	if b.Status != Pending && b.Status != Running {
		m["finished"] = 1764979270
	}
	if stages && len(b.Stages) > 0 {
		var out []any
		for _, st := range b.Stages {
			steps := []any{}
			for _, sp := range st.Steps {
				exit := 0
				if sp.Status == Failure {
					exit = 1
				}
				steps = append(steps, map[string]any{"id": 10*st.Number + sp.Number, "step_id": st.Number, "number": sp.Number, "name": sp.Name,
					"status": sp.Status, "exit_code": exit, "version": 1})
			}
			out = append(out, map[string]any{"id": st.Number, "repo_id": len(repo.slug()), "build_id": 1000 + b.Number, "number": st.Number,
				"name": st.Name, "kind": "pipeline", "type": "docker", "status": st.Status, "errignore": false, "exit_code": 0,
				"os": "linux", "arch": "amd64", "started": 0, "stopped": 0, "created": 1764979200, "updated": 1764979200, "version": 1,
				"on_success": true, "on_failure": false, "steps": steps})
		}
		m["stages"] = out
	}
	return m
}
