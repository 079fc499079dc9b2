// Package ghcrfake is the fake of the ghcr provider's vendor API that its
// tests and the CLI's run against, in front of a real docker-registry.
package ghcrfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The fake's credentials and names, for tests of other packages.
const (
	Pat       = pat
	Org       = org
	Namespace = namespace
	User      = user
)

// The token, owners and their kinds of the tests.
const (
	pat       = "ghp_s3cr3tPersonalAccessTokenValue0001"
	org       = "Stella-Ops" // GitHub names keep their case; ghcr.io lowercases them
	namespace = "stella-ops"
	user      = "octo-user"
)

// fakeGitHub serves the part of GitHub's REST API the connector calls, as
// GitHub's reference describes "List packages for an organization" and
// "List packages for a user":
//   - GET /orgs/{org}/packages and /users/{username}/packages with
//     package_type (required: a missing or unknown one is 422 "Validation
//     Failed"), per_page (default 30, max 100; not an integer is 422),
//     page, and 400 when per_page × page passes 10000;
//   - Authorization "Bearer <t>" or "token <t>": none is 401 "Requires
//     authentication", an unknown token 401 "Bad credentials";
//   - an organization or user it does not know is 404 "Not Found" (an
//     organization under /users and a user under /orgs too);
//   - a JSON array of packages and a Link header with rel
//     next/last/prev/first;
//   - x-ratelimit-limit/remaining/reset/used/resource on every answer;
//     throttled, 429 with Retry-After (the secondary limit) everywhere;
//     exhausted, 403 with x-ratelimit-remaining 0 and the reset epoch;
//   - errors as {"message","documentation_url","status"}.
//
// /v2/ goes to a real docker-registry with token auth, which stands for
// ghcr.io when registryUrl points at the fake.
type Fake struct {
	// Server serves the vendor API and, behind it, the registry.
	Server    *httptest.Server
	packages  []string // container packages of both owners
	others    int      // packages of other types
	throttled atomic.Bool
	// Exhausted answers as GitHub does once the primary quota is spent.
	Exhausted atomic.Bool
	retry     int
	requests  atomic.Int64 // API requests, for tests that count pages
}

// Start serves the fake in front of the registry at registry.
func Start(t testing.TB, registry string, packages []string) *Fake {
	f := &Fake{packages: packages, others: 3}
	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.throttled.Load() {
			rateHeaders(w, 4000)
			w.Header().Set("Retry-After", strconv.Itoa(f.retry))
			ghError(w, http.StatusTooManyRequests, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
			return
		}
		if strings.HasPrefix(r.URL.Path, "/v2/") || r.URL.Path == "/v2" {
			proxy.ServeHTTP(w, r)
			return
		}
		f.requests.Add(1)
		if f.Exhausted.Load() {
			w.Header().Set("X-RateLimit-Limit", "5000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Used", "5000")
			w.Header().Set("X-RateLimit-Resource", "core")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(90*time.Second).Unix(), 10))
			ghError(w, http.StatusForbidden, "API rate limit exceeded for user ID 1.")
			return
		}
		rateHeaders(w, 4999)
		if r.URL.Path == "/" {
			writeJSON(w, http.StatusOK, map[string]any{"current_user_url": f.Server.URL + "/user"})
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if len(parts) != 3 || parts[2] != "packages" || (parts[0] != "orgs" && parts[0] != "users") {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		f.listPackages(w, r, parts[0], parts[1])
	}))
	t.Cleanup(f.Server.Close)
	return f
}

// Throttle answers every request 429 with Retry-After: seconds.
func (f *Fake) Throttle(seconds int) { f.retry = seconds; f.throttled.Store(true) }

func rateHeaders(w http.ResponseWriter, remaining int) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func ghError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"message": message,
		"documentation_url": "https://docs.github.com/rest/packages/packages", "status": strconv.Itoa(status)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) listPackages(w http.ResponseWriter, r *http.Request, route, owner string) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case scheme == "":
		ghError(w, http.StatusUnauthorized, "Requires authentication")
		return
	case token != pat || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "token")):
		ghError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	// Owner names are not case sensitive.
	if (route == "orgs" && !strings.EqualFold(owner, org)) || (route == "users" && !strings.EqualFold(owner, user)) {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	q := r.URL.Query()
	ptype := q.Get("package_type")
	switch ptype {
	case "npm", "maven", "rubygems", "docker", "nuget", "container":
	default:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors":            []map[string]string{{"resource": "Package", "field": "package_type", "code": "invalid"}},
			"documentation_url": "https://docs.github.com/rest/packages/packages", "status": "422"})
		return
	}
	perPage, page := 30, 1
	for name, dst := range map[string]*int{"per_page": &perPage, "page": &page} {
		if s := q.Get(name); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil {
				ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor '"+name+"', \""+s+"\" is not an integer.")
				return
			}
			*dst = v
		}
	}
	perPage, page = min(max(perPage, 1), 100), max(page, 1)
	if perPage*page > 10000 {
		ghError(w, http.StatusBadRequest, "The value of `per_page` multiplied by `page` cannot be greater than 10000.")
		return
	}
	// The owner also has a few npm packages, which package_type=container
	// leaves out.
	var all []map[string]any
	if ptype == "container" {
		for i, name := range f.packages {
			all = append(all, f.item(int64(i+1), name, ptype, owner))
		}
	} else {
		for i := range f.others {
			all = append(all, f.item(int64(1000+i), "lib-"+strconv.Itoa(i), ptype, owner))
		}
	}
	n := len(all)
	last := max(1, (n+perPage-1)/perPage)
	link := func(p int, rel string) string {
		lq := url.Values{}
		for k, v := range q {
			lq[k] = v
		}
		lq.Set("per_page", strconv.Itoa(perPage))
		lq.Set("page", strconv.Itoa(p))
		return "<" + f.Server.URL + r.URL.Path + "?" + lq.Encode() + `>; rel="` + rel + `"`
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start, end := min((page-1)*perPage, n), min(page*perPage, n)
	writeJSON(w, http.StatusOK, append([]map[string]any{}, all[start:end]...))
}

func (f *Fake) item(id int64, name, ptype, owner string) map[string]any {
	return map[string]any{"id": id, "name": name, "package_type": ptype, "version_count": 3, "visibility": "private",
		"url":        f.Server.URL + "/orgs/" + owner + "/packages/" + ptype + "/" + url.PathEscape(name),
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-02-01T00:00:00Z",
		"owner":      map[string]any{"login": owner, "type": "Organization"},
		"repository": map[string]any{"full_name": owner + "/monorepo"},
		"html_url":   "https://github.com/orgs/" + owner + "/packages/" + ptype + "/package/" + url.PathEscape(name)}
}
