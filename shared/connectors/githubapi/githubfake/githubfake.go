// Package githubfake is GitHub's REST API as the hub's GitHub providers use
// it, written from docs.github.com (rest/authentication,
// rest/using-the-rest-api/rate-limits-for-the-rest-api,
// troubleshooting-the-rest-api, using-pagination-in-the-rest-api,
// rest/users, rest/orgs/orgs, rest/repos/repos, rest/branches, rest/repos
// "list repository tags"):
//
//   - Authorization "Bearer <t>" or "token <t>"; an unknown token or scheme
//     is 401 {"message":"Bad credentials","documentation_url":...}
//     everywhere; no token is anonymous: /user 401 "Requires
//     authentication", private repositories invisible (404 "Not Found"); a
//     GitHub App installation token gets 403 "Resource not accessible by
//     integration" on /user and /user/orgs;
//   - a request without User-Agent is 403; an X-GitHub-Api-Version GitHub
//     does not know is 400;
//   - every answer carries x-ratelimit-limit/remaining/reset/used/resource;
//     a scripted limit answers as GitHub does: primary (403 or 429,
//     remaining 0, reset in epoch seconds), secondary (403 or 429 with
//     Retry-After, or 403 with only the message);
//   - lists page with per_page (default 30, max 100) and page (a
//     non-integer is 422), and a Link header with rel next/prev/first/last
//     naming /organizations/{id}/... and /user/{id}/... as GitHub's links
//     do; an unknown organization or user is 404.
//
// The shared part (Error, Paginate, the rate-limit answers) is exported for
// other GitHub fakes.
package githubfake

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
	"time"
)

// The fake's tokens.
const (
	UserToken    = "ghp_user0123456789abcdefghijklmnopqrstu"
	InstallToken = "ghs_install0123456789abcdefghijklmnopq"
	WrongToken   = "ghp_wrong0123456789abcdefghijklmnopqrs"
)

// Tokens are every token the fake knows or refuses: no error text may hold one.
var Tokens = []string{UserToken, InstallToken, WrongToken}

// UserLogin is the login of UserToken's user.
const UserLogin = "octocat"

// Limit is a scripted rate-limit answer.
type Limit struct {
	Status     int  // 403 or 429
	Primary    bool // remaining 0 and a reset time
	RetryAfter int  // seconds; 0 = no Retry-After
	ResetIn    int  // seconds from Now to x-ratelimit-reset
}

// Repo is a repository: Owner/Name, its branches and tags.
type Repo struct {
	Owner, Name   string
	Private       bool
	DefaultBranch string
	Branches      []string
	Tags          []string
}

// Server is the fake GitHub.
type Server struct {
	*httptest.Server
	// Now is the fake's clock for reset times.
	Now time.Time

	mu       sync.Mutex
	orgs     []string // organizations UserToken's user belongs to, in id order
	users    []string // users besides UserLogin
	repos    []Repo
	calls    map[string]int
	queries  map[string][]url.Values
	limits   []Limit
	limitAll *Limit
	private  bool
	spend    int // the next answers say the limit is spent (remaining 0)
}

// New starts a fake GitHub closed by t.Cleanup.
func New(t *testing.T) *Server {
	t.Helper()
	s := &Server{Now: time.Unix(1_760_000_000, 0), calls: map[string]int{}, queries: map[string][]url.Values{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// AddOrgs adds organizations the user belongs to.
func (s *Server) AddOrgs(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgs = append(s.orgs, names...)
}

// AddUsers adds users other than UserLogin.
func (s *Server) AddUsers(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, names...)
}

// AddRepos adds repositories; their owner must be an organization, UserLogin
// or an added user.
func (s *Server) AddRepos(repos ...Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos = append(s.repos, repos...)
}

// PrivateMode makes the fake a GitHub Enterprise Server in private mode:
// every anonymous request is 401 "Requires authentication".
func (s *Server) PrivateMode() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.private = true
}

// SpendNext makes the next n successful answers say the primary limit is
// spent (x-ratelimit-remaining 0, reset a minute and a half after Now), as
// the last call GitHub allows before the reset does.
func (s *Server) SpendNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spend += n
}

// LimitNext makes the next authenticated answer a rate-limit answer.
func (s *Server) LimitNext(l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, l)
}

// LimitEvery makes every following authenticated answer a rate-limit answer.
func (s *Server) LimitEvery(l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitAll = &l
}

// Calls is how often route ("GET /orgs/{org}/repos") was called.
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// Queries are the queries route was called with, in order.
func (s *Server) Queries(route string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries[route])
}

type caller struct {
	anonymous    bool
	installation bool
}

// routeOf names a request by its route pattern and returns the parameters.
func routeOf(method, path string) (string, []string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); err == nil {
			segs[i] = u
		}
	}
	switch {
	case len(segs) == 1 && segs[0] == "":
		return method + " /", nil
	case len(segs) == 2 && segs[0] == "users":
		return method + " /users/{username}", segs[1:2]
	case len(segs) == 3 && segs[0] == "users" && segs[2] == "repos":
		return method + " /users/{username}/repos", segs[1:2]
	case len(segs) == 3 && segs[0] == "orgs" && segs[2] == "repos":
		return method + " /orgs/{org}/repos", segs[1:2]
	case len(segs) == 4 && segs[0] == "repos":
		return method + " /repos/{owner}/{repo}/" + segs[3], segs[1:3]
	}
	return method + " /" + strings.Join(segs, "/"), nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	route, params := routeOf(r.Method, r.URL.EscapedPath())
	s.calls[route]++
	s.queries[route] = append(s.queries[route], r.URL.Query())
	if r.Header.Get("User-Agent") == "" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n")
		return
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && v != "2022-11-28" && v != "2026-03-10" {
		Error(w, http.StatusBadRequest, "API version "+v+" is not supported.")
		return
	}
	who, ok := authenticate(r)
	if !ok {
		s.RateHeaders(w, 5000, 4999)
		Error(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if s.private && who.anonymous {
		Error(w, http.StatusUnauthorized, "Requires authentication")
		return
	}
	if s.limitAll != nil {
		s.RateLimited(w, *s.limitAll)
		return
	}
	if len(s.limits) > 0 {
		l := s.limits[0]
		s.limits = s.limits[1:]
		s.RateLimited(w, l)
		return
	}
	switch {
	case who.anonymous:
		s.RateHeaders(w, 60, 59)
	case s.spend > 0:
		s.spend--
		s.RateHeaders(w, 5000, 0)
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.Now.Add(90*time.Second).Unix(), 10))
	default:
		s.RateHeaders(w, 5000, 4990)
	}
	if r.Method != http.MethodGet {
		Error(w, http.StatusNotFound, "Not Found")
		return
	}
	s.route(w, r, route, params, who)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, route string, params []string, who caller) {
	switch route {
	case "GET /":
		WriteJSON(w, http.StatusOK, map[string]any{"current_user_url": s.URL + "/user", "repository_url": s.URL + "/repos/{owner}/{repo}"})
	case "GET /user":
		switch {
		case who.anonymous:
			Error(w, http.StatusUnauthorized, "Requires authentication")
		case who.installation:
			Error(w, http.StatusForbidden, "Resource not accessible by integration")
		default:
			WriteJSON(w, http.StatusOK, s.account(UserLogin))
		}
	case "GET /user/orgs":
		switch {
		case who.anonymous:
			Error(w, http.StatusUnauthorized, "Requires authentication")
		case who.installation:
			Error(w, http.StatusForbidden, "Resource not accessible by integration")
		default:
			Paginate(w, r, s.URL+"/user/orgs", len(s.orgs), func(i int) any {
				return map[string]any{"login": s.orgs[i], "id": s.idOf(s.orgs[i]), "description": "Organization " + s.orgs[i],
					"url": s.URL + "/orgs/" + s.orgs[i], "repos_url": s.URL + "/orgs/" + s.orgs[i] + "/repos"}
			})
		}
	case "GET /user/repos":
		if who.anonymous {
			Error(w, http.StatusUnauthorized, "Requires authentication")
			return
		}
		s.listRepos(w, r, "/user/"+strconv.Itoa(s.idOf(UserLogin))+"/repos", func(Repo) bool { return true }, who)
	case "GET /users/{username}":
		if !s.isAccount(params[0]) {
			Error(w, http.StatusNotFound, "Not Found")
			return
		}
		WriteJSON(w, http.StatusOK, s.account(params[0]))
	case "GET /orgs/{org}/repos", "GET /users/{username}/repos":
		owner := params[0]
		isOrg := slices.Contains(s.orgs, owner)
		if (route == "GET /orgs/{org}/repos" && !isOrg) || !s.isAccount(owner) {
			Error(w, http.StatusNotFound, "Not Found")
			return
		}
		kind := "user"
		if isOrg {
			kind = "organizations"
		}
		s.listRepos(w, r, "/"+kind+"/"+strconv.Itoa(s.idOf(owner))+"/repos", func(repo Repo) bool { return strings.EqualFold(repo.Owner, owner) }, who)
	case "GET /repos/{owner}/{repo}/branches", "GET /repos/{owner}/{repo}/tags":
		repo := s.repo(params[0], params[1])
		if repo == nil || (repo.Private && who.anonymous) {
			Error(w, http.StatusNotFound, "Not Found")
			return
		}
		link := s.URL + "/repositories/" + strconv.Itoa(s.idOf(repo.Owner+"/"+repo.Name))
		if strings.HasSuffix(route, "/branches") {
			Paginate(w, r, link+"/branches", len(repo.Branches), func(i int) any {
				return map[string]any{"name": repo.Branches[i], "protected": repo.Branches[i] == repo.DefaultBranch,
					"commit": map[string]any{"sha": sha(repo.Branches[i]), "url": link + "/commits/" + sha(repo.Branches[i])}}
			})
			return
		}
		Paginate(w, r, link+"/tags", len(repo.Tags), func(i int) any {
			return map[string]any{"name": repo.Tags[i], "node_id": "REF_" + repo.Tags[i],
				"commit":      map[string]any{"sha": sha(repo.Tags[i]), "url": link + "/commits/" + sha(repo.Tags[i])},
				"zipball_url": link + "/zipball/" + repo.Tags[i], "tarball_url": link + "/tarball/" + repo.Tags[i]}
		})
	default:
		Error(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) listRepos(w http.ResponseWriter, r *http.Request, linkPath string, keep func(Repo) bool, who caller) {
	var repos []Repo
	for _, repo := range s.repos {
		if keep(repo) && (!repo.Private || !who.anonymous) {
			repos = append(repos, repo)
		}
	}
	Paginate(w, r, s.URL+linkPath, len(repos), func(i int) any {
		repo := repos[i]
		full := repo.Owner + "/" + repo.Name
		return map[string]any{"id": s.idOf(full), "node_id": "R_" + full, "name": repo.Name, "full_name": full, "private": repo.Private,
			"owner":          map[string]any{"login": repo.Owner, "id": s.idOf(repo.Owner), "type": s.kind(repo.Owner)},
			"default_branch": repo.DefaultBranch, "html_url": "https://github.com/" + full,
			"clone_url": "https://github.com/" + full + ".git", "ssh_url": "git@github.com:" + full + ".git",
			"archived": false, "visibility": map[bool]string{true: "private", false: "public"}[repo.Private],
			"pushed_at": "2026-01-02T03:04:05Z"}
	})
}

func (s *Server) isAccount(login string) bool {
	return login == UserLogin || slices.Contains(s.orgs, login) || slices.Contains(s.users, login)
}

func (s *Server) kind(login string) string {
	if slices.Contains(s.orgs, login) {
		return "Organization"
	}
	return "User"
}

func (s *Server) account(login string) map[string]any {
	return map[string]any{"login": login, "id": s.idOf(login), "type": s.kind(login)}
}

func (s *Server) repo(owner, name string) *Repo {
	for i, repo := range s.repos {
		if strings.EqualFold(repo.Owner, owner) && strings.EqualFold(repo.Name, name) {
			return &s.repos[i]
		}
	}
	return nil
}

// idOf gives every name a stable numeric id.
func (s *Server) idOf(name string) int {
	h := 0
	for _, c := range name {
		h = (h*31 + int(c)) % 1_000_000
	}
	return 1_000_000 + h
}

func sha(name string) string {
	return fmt.Sprintf("%040x", []byte(name + "0000000000000000000000")[:20])
}

func authenticate(r *http.Request) (caller, bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return caller{anonymous: true}, true
	}
	scheme, token, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "token") {
		return caller{}, false
	}
	switch token {
	case UserToken:
		return caller{}, true
	case InstallToken:
		return caller{installation: true}, true
	}
	return caller{}, false
}

// RateHeaders sets GitHub's x-ratelimit headers of a core answer.
func (s *Server) RateHeaders(w http.ResponseWriter, limit, remaining int) {
	WriteRateHeaders(w, s.Now, limit, remaining)
}

// RateLimited answers as GitHub answers a call over a primary or secondary
// rate limit.
func (s *Server) RateLimited(w http.ResponseWriter, l Limit) { WriteRateLimited(w, s.Now, l) }

// WriteRateHeaders sets GitHub's x-ratelimit headers of a core answer at
// now (the window resets an hour later). Every fake speaking GitHub's REST
// API (this one, githubactionsfake) answers through it.
func WriteRateHeaders(w http.ResponseWriter, now time.Time, limit, remaining int) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(limit-remaining))
	h.Set("X-RateLimit-Resource", "core")
}

// WriteRateLimited answers at now as GitHub answers a call over a primary
// or secondary rate limit.
func WriteRateLimited(w http.ResponseWriter, now time.Time, l Limit) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Duration(l.ResetIn)*time.Second).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if l.Primary {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		Error(w, l.Status, "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0C4E:2B8A:1A2B3C:4D5E6F:68E7A1B2.")
		return
	}
	h.Set("X-RateLimit-Remaining", "4000")
	h.Set("X-RateLimit-Used", "1000")
	if l.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(l.RetryAfter))
	}
	Error(w, l.Status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0C4E:2B8A:1A2B3C:4D5E6F:68E7A1B2.")
}

// Error writes GitHub's error body.
func Error(w http.ResponseWriter, status int, message string) {
	WriteJSON(w, status, map[string]any{"message": message,
		"documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status)})
}

// Paginate serves the page of n items r asks for (per_page, page) as a
// JSON array with GitHub's Link header, whose targets are link plus the
// query.
func Paginate(w http.ResponseWriter, r *http.Request, link string, n int, item func(int) any) {
	if items, ok := Page(w, r, link, n, item); ok {
		WriteJSON(w, http.StatusOK, items)
	}
}

// Page reads the page of n items r asks for (per_page, page: GitHub's 30
// and 1 by default, per_page at most 100), sets GitHub's Link header,
// whose targets are link plus the query, and returns the page's items. A
// per_page or page that is no integer is answered 422, and ok is false.
// Every GitHub listing a fake serves (arrays, and objects holding one
// such as the workflow runs) pages through it.
func Page(w http.ResponseWriter, r *http.Request, link string, n int, item func(int) any) (items []any, ok bool) {
	q := r.URL.Query()
	perPage, page := 30, 1
	for _, p := range []struct {
		name string
		v    *int
	}{{"per_page", &perPage}, {"page", &page}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			Error(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor '"+p.name+"', \""+s+"\" is not an integer.")
			return nil, false
		}
		*p.v = v
	}
	perPage, page = min(max(perPage, 1), 100), max(page, 1)
	last := max(1, (n+perPage-1)/perPage)
	rel := func(p int, name string) string {
		lq := url.Values{}
		for k, v := range q {
			lq[k] = v
		}
		lq.Set("per_page", strconv.Itoa(perPage))
		lq.Set("page", strconv.Itoa(p))
		return "<" + link + "?" + lq.Encode() + `>; rel="` + name + `"`
	}
	var links []string
	if page > 1 {
		links = append(links, rel(page-1, "prev"))
	}
	if page < last {
		links = append(links, rel(page+1, "next"), rel(last, "last"))
	}
	if page > 1 {
		links = append(links, rel(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start, end := min((page-1)*perPage, n), min(page*perPage, n)
	items = make([]any, 0, end-start)
	for i := start; i < end; i++ {
		items = append(items, item(i))
	}
	return items, true
}

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
