package gitea

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitea is the part of Gitea's REST API v1 the connector uses, as
// docs.gitea.com documents it (development/api-usage: authentication and
// pagination; the swagger of /api/v1: version, user, user/orgs, user/repos,
// orgs/{org}, orgs/{org}/repos, users/{username}, users/{username}/repos,
// repos/{owner}/{repo}/branches and /tags):
//
//   - Authorization "token <t>" (or "Bearer <t>"); an unknown token is 401
//     {"message":...,"url":"<root>/api/swagger"} everywhere; no token is
//     anonymous: /user and /user/... 401 "token is required", private
//     repositories invisible (404);
//   - /api/v1/version answers anyone;
//   - lists page with page (1-based; anything else is page 1, as Gitea's
//     FormInt reads it) and limit (default 30, cut to MAX_RESPONSE_ITEMS
//     50), and send X-Total-Count and a Link header with rel next/last
//     (and prev/first after page 1);
//   - an unknown organization, user or repository is 404 {"errors":[],
//     "message":"The target couldn't be found.","url":...};
//   - a rate-limited answer is what a proxy in front of Gitea sends (Gitea
//     has no API rate limit of its own): 429 with Retry-After.
//
// It counts calls per route.
type fakeGitea struct {
	srv *httptest.Server

	mu       sync.Mutex
	version  string
	orgs     []string // the user's organizations
	users    []string // users besides fakeUser
	repos    []fakeRepo
	calls    map[string]int
	queries  map[string][]url.Values
	limited  int // the next answers are 429
	limitAll bool
	maxItems int
}

type fakeRepo struct {
	owner, name   string
	private       bool
	branches      []string
	tags          []string
	defaultBranch string
}

const (
	fakeToken  = "0123456789abcdef0123456789abcdef01234567"
	wrongToken = "fedcba9876543210fedcba9876543210fedcba98"
	fakeUser   = "gitea-admin"
	retryAfter = 7
)

var allSecrets = []string{fakeToken, wrongToken}

func newFakeGitea(t *testing.T) *fakeGitea {
	t.Helper()
	f := &fakeGitea{version: "1.24.6", calls: map[string]int{}, queries: map[string][]url.Values{}, maxItems: 50}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitea) addOrgs(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgs = append(f.orgs, names...)
}

func (f *fakeGitea) addUsers(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users = append(f.users, names...)
}

func (f *fakeGitea) addRepos(repos ...fakeRepo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repos = append(f.repos, repos...)
}

// limitNext makes the next n answers a proxy's 429.
func (f *fakeGitea) limitNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited += n
}

func (f *fakeGitea) limitEvery() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limitAll = true
}

func (f *fakeGitea) count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[route]
}

func (f *fakeGitea) queriesOf(route string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries[route])
}

// routeOf names a request under /api/v1 by its route pattern and returns
// the parameters.
func routeOf(method, path string) (string, []string) {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	if !ok {
		return method + " " + path, nil
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	switch {
	case len(segs) == 2 && segs[0] == "orgs":
		return method + " /orgs/{org}", segs[1:]
	case len(segs) == 3 && segs[0] == "orgs" && segs[2] == "repos":
		return method + " /orgs/{org}/repos", segs[1:2]
	case len(segs) == 2 && segs[0] == "users":
		return method + " /users/{username}", segs[1:]
	case len(segs) == 3 && segs[0] == "users" && segs[2] == "repos":
		return method + " /users/{username}/repos", segs[1:2]
	case len(segs) == 4 && segs[0] == "repos":
		return method + " /repos/{owner}/{repo}/" + segs[3], segs[1:3]
	}
	return method + " /" + strings.Join(segs, "/"), nil
}

func (f *fakeGitea) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	route, params := routeOf(r.Method, r.URL.EscapedPath())
	f.calls[route]++
	f.queries[route] = append(f.queries[route], r.URL.Query())
	if f.limitAll || f.limited > 0 {
		if f.limited > 0 {
			f.limited--
		}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, "<html><body><h1>429 Too Many Requests</h1></body></html>")
		return
	}
	anonymous, ok := f.authenticate(r)
	if !ok {
		f.error(w, http.StatusUnauthorized, "invalid username, password or token")
		return
	}
	if r.Method != http.MethodGet {
		f.error(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	switch route {
	case "GET /version":
		writeJSON(w, http.StatusOK, map[string]any{"version": f.version})
	case "GET /user", "GET /user/orgs", "GET /user/repos":
		if anonymous {
			f.error(w, http.StatusUnauthorized, "token is required")
			return
		}
		switch route {
		case "GET /user":
			writeJSON(w, http.StatusOK, f.account(fakeUser))
		case "GET /user/orgs":
			f.paginate(w, r, len(f.orgs), func(i int) any { return f.org(f.orgs[i]) })
		default:
			f.listRepos(w, r, func(fakeRepo) bool { return true }, anonymous)
		}
	case "GET /orgs/{org}":
		if !slices.Contains(f.orgs, params[0]) {
			f.notFound(w)
			return
		}
		writeJSON(w, http.StatusOK, f.org(params[0]))
	case "GET /users/{username}":
		if !f.isAccount(params[0]) {
			f.notFound(w)
			return
		}
		writeJSON(w, http.StatusOK, f.account(params[0]))
	case "GET /orgs/{org}/repos", "GET /users/{username}/repos":
		if (route == "GET /orgs/{org}/repos" && !slices.Contains(f.orgs, params[0])) || !f.isAccount(params[0]) {
			f.notFound(w)
			return
		}
		f.listRepos(w, r, func(repo fakeRepo) bool { return strings.EqualFold(repo.owner, params[0]) }, anonymous)
	case "GET /repos/{owner}/{repo}/branches", "GET /repos/{owner}/{repo}/tags":
		repo := f.repo(params[0], params[1])
		if repo == nil || (repo.private && anonymous) {
			f.notFound(w)
			return
		}
		if strings.HasSuffix(route, "/branches") {
			f.paginate(w, r, len(repo.branches), func(i int) any {
				return map[string]any{"name": repo.branches[i], "protected": repo.branches[i] == repo.defaultBranch,
					"commit": map[string]any{"id": sha(repo.branches[i]), "message": "commit on " + repo.branches[i]}}
			})
			return
		}
		f.paginate(w, r, len(repo.tags), func(i int) any {
			return map[string]any{"name": repo.tags[i], "id": sha("tag " + repo.tags[i]),
				"commit": map[string]any{"sha": sha(repo.tags[i]), "url": f.srv.URL + "/api/v1/repos/" + repo.owner + "/" + repo.name + "/git/commits/" + sha(repo.tags[i])}}
		})
	default:
		f.notFound(w)
	}
}

func (f *fakeGitea) authenticate(r *http.Request) (anonymous, ok bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return true, true
	}
	scheme, token, _ := strings.Cut(v, " ")
	if (!strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "bearer")) || token != fakeToken {
		return false, false
	}
	return false, true
}

func (f *fakeGitea) listRepos(w http.ResponseWriter, r *http.Request, keep func(fakeRepo) bool, anonymous bool) {
	var repos []fakeRepo
	for _, repo := range f.repos {
		if keep(repo) && (!repo.private || !anonymous) {
			repos = append(repos, repo)
		}
	}
	f.paginate(w, r, len(repos), func(i int) any {
		repo := repos[i]
		full := repo.owner + "/" + repo.name
		web := f.srv.URL + "/" + full
		return map[string]any{"id": idOf(full), "owner": f.account(repo.owner), "name": repo.name, "full_name": full,
			"private": repo.private, "empty": len(repo.branches) == 0, "mirror": false, "archived": false,
			"default_branch": repo.defaultBranch, "html_url": web, "clone_url": web + ".git",
			"ssh_url": "git@" + r.Host + ":" + full + ".git", "updated_at": "2026-01-02T03:04:05Z"}
	})
}

func (f *fakeGitea) isAccount(name string) bool {
	return name == fakeUser || slices.Contains(f.orgs, name) || slices.Contains(f.users, name)
}

func (f *fakeGitea) account(name string) map[string]any {
	return map[string]any{"id": idOf(name), "login": name, "username": name, "full_name": strings.ToUpper(name)}
}

func (f *fakeGitea) org(name string) map[string]any {
	return map[string]any{"id": idOf(name), "name": name, "username": name, "full_name": "Org " + name, "visibility": "public"}
}

func (f *fakeGitea) repo(owner, name string) *fakeRepo {
	for i, repo := range f.repos {
		if strings.EqualFold(repo.owner, owner) && strings.EqualFold(repo.name, name) {
			return &f.repos[i]
		}
	}
	return nil
}

// paginate serves the page of n items r asks for with Gitea's headers.
func (f *fakeGitea) paginate(w http.ResponseWriter, r *http.Request, n int, item func(int) any) {
	q := r.URL.Query()
	// Gitea reads both with FormInt: anything not an integer is 0.
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("limit"))
	page = max(page, 1)
	if size <= 0 {
		size = 30
	}
	size = min(size, f.maxItems)
	last := max(1, (n+size-1)/size)
	rel := func(p int, name string) string {
		lq := url.Values{}
		for k, v := range q {
			lq[k] = v
		}
		lq.Set("limit", strconv.Itoa(size))
		lq.Set("page", strconv.Itoa(p))
		return "<" + f.srv.URL + r.URL.Path + "?" + lq.Encode() + `>; rel="` + name + `"`
	}
	var links []string
	if page < last {
		links = append(links, rel(page+1, "next"), rel(last, "last"))
	}
	if page > 1 {
		links = append(links, rel(1, "first"), rel(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ","))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(n))
	w.Header().Set("Access-Control-Expose-Headers", "X-Total-Count, Link")
	start, end := min((page-1)*size, n), min(page*size, n)
	items := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		items = append(items, item(i))
	}
	writeJSON(w, http.StatusOK, items)
}

func (f *fakeGitea) error(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"message": message, "url": f.srv.URL + "/api/swagger"})
}

func (f *fakeGitea) notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}, "message": "The target couldn't be found.", "url": f.srv.URL + "/api/swagger"})
}

func idOf(name string) int {
	h := 0
	for _, c := range name {
		h = (h*31 + int(c)) % 1_000_000
	}
	return 1 + h
}

func sha(name string) string { return fmt.Sprintf("%040x", []byte(name + "00000000000000000000")[:20]) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
