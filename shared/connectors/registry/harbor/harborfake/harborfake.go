// Package harborfake is the fake of the harbor provider's vendor API that its
// tests and the CLI's run against, in front of a real docker-registry.
package harborfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// The fake's credentials and names, for tests of other packages.
const (
	RobotName   = robotName
	RobotSecret = robotSecret
	Project     = project
)

// The robot account of the tests, as Harbor names robots of a project.
const (
	robotName   = "robot$releases+ci"
	robotSecret = "s3cr3t-robot-token-value"
	project     = "releases"
)

// fakeHarbor serves the part of Harbor's API v2.0 the connector calls, as
// Harbor's API reference describes it: GET /ping (no auth),
// /projects/{project_name} and /projects/{project_name}/repositories
// (page from 1, page_size at most 100, X-Total-Count and a Link header),
// errors as {"errors":[{"code","message"}]}. Everything else — /v2/ and the
// token flow — goes to a real docker-registry, as Harbor serves the
// registry API on the same host.
type Fake struct {
	// Server serves the vendor API and, behind it, the registry.
	Server    *httptest.Server
	repos     []string // project/name, in Harbor's default order
	throttled atomic.Bool
	retry     int
}

// Start serves the fake in front of the registry at registry.
func Start(t testing.TB, registry string, repos []string) *Fake {
	f := &Fake{repos: repos}
	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.throttled.Load() {
			w.Header().Set("Retry-After", strconv.Itoa(f.retry))
			harborError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "too many requests")
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/api/v2.0/") {
			proxy.ServeHTTP(w, r)
			return
		}
		f.api(w, r)
	}))
	t.Cleanup(f.Server.Close)
	return f
}

// Throttle answers every request 429 with Retry-After: seconds.
func (f *Fake) Throttle(seconds int) { f.retry = seconds; f.throttled.Store(true) }

func harborError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
}

func (f *Fake) api(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/api/v2.0")
	if p == "/ping" {
		_, _ = w.Write([]byte("Pong"))
		return
	}
	if u, pw, ok := r.BasicAuth(); !ok || u != robotName || pw != robotSecret {
		harborError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unauthorized")
		return
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "projects" && parts[1] != project:
		harborError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("project %s not found", parts[1]))
	case len(parts) == 2 && parts[0] == "projects":
		_ = json.NewEncoder(w).Encode(map[string]any{"project_id": 1, "name": project})
	case len(parts) == 3 && parts[0] == "projects" && parts[2] == "repositories":
		f.listRepositories(w, r)
	default:
		harborError(w, http.StatusNotFound, "NOT_FOUND", "not found")
	}
}

func (f *Fake) listRepositories(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size := 1, 10
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			harborError(w, http.StatusBadRequest, "BAD_REQUEST", "page must be a number of at least 1")
			return
		}
	}
	if v := q.Get("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 100 {
			harborError(w, http.StatusBadRequest, "BAD_REQUEST", "page_size must be from 1 to 100")
			return
		}
	}
	start := min((page-1)*size, len(f.repos))
	end := min(start+size, len(f.repos))
	w.Header().Set("X-Total-Count", strconv.Itoa(len(f.repos)))
	if end < len(f.repos) {
		w.Header().Set("Link", fmt.Sprintf(`</api/v2.0/projects/%s/repositories?page=%d&page_size=%d>; rel="next"`, project, page+1, size))
	}
	items := []map[string]any{}
	for i, name := range f.repos[start:end] {
		items = append(items, map[string]any{"id": start + i + 1, "project_id": 1, "name": name, "artifact_count": 1, "pull_count": 0,
			"creation_time": "2026-01-01T00:00:00.000Z", "update_time": "2026-01-02T00:00:00.000Z"})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(items)
}
