// Package jfrogfake is the fake of the jfrog provider's vendor API that its
// tests and the CLI's run against, in front of a real docker-registry.
package jfrogfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// The fake's credentials and names, for tests of other packages.
const (
	AccessToken = accessToken
	Username    = username
	RepoKey     = repoKey
)

// The access token, user and repository key of the tests.
const (
	accessToken = "eyJ2ZXIiOiIyIiwidHlwIjoiSldUIn0.jfrog-s3cr3t-access-token"
	username    = "release-bot"
	repoKey     = "docker-local"
)

// fakeArtifactory serves the part of Artifactory's REST API the connector
// calls, as JFrog's REST API reference describes it:
//   - GET /artifactory/api/system/ping: "OK", no authentication;
//   - GET /artifactory/api/docker/{repoKey}/v2/_catalog?n=&last= ("List
//     Docker Repositories"): {"repositories": [...]}, the images after last
//     in order, at most n; an access token as Bearer (none or an unknown
//     one: 401); n that is not a positive integer: 400; a repository key
//     it does not know: 404;
//   - errors as {"errors":[{"status","message"}]}; throttled, 429 with
//     Retry-After everywhere (JFrog Cloud's rate limit).
//
// /v2/ goes to a real docker-registry with token auth, as Artifactory's
// repository path access method serves HOST/v2/{repoKey}/{image}.
type Fake struct {
	// Server serves the vendor API and, behind it, the registry.
	Server    *httptest.Server
	images    []string // sorted
	throttled atomic.Bool
	retry     int
}

// Start serves the fake in front of the registry at registry.
func Start(t testing.TB, registry string, images []string) *Fake {
	f := &Fake{images: slices.Sorted(slices.Values(images))}
	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	catalogPrefix := "/artifactory/api/docker/"
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case f.throttled.Load():
			w.Header().Set("Retry-After", strconv.Itoa(f.retry))
			apiError(w, http.StatusTooManyRequests, "Too Many Requests")
		case strings.HasPrefix(r.URL.Path, "/v2/"):
			proxy.ServeHTTP(w, r)
		case r.URL.Path == "/artifactory/api/system/ping":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("OK"))
		case strings.HasPrefix(r.URL.Path, catalogPrefix) && strings.HasSuffix(r.URL.Path, "/v2/_catalog"):
			f.catalog(w, r, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, catalogPrefix), "/v2/_catalog"))
		default:
			apiError(w, http.StatusNotFound, "Not Found")
		}
	}))
	t.Cleanup(f.Server.Close)
	return f
}

// Throttle answers every request 429 with Retry-After: seconds.
func (f *Fake) Throttle(seconds int) { f.retry = seconds; f.throttled.Store(true) }

func apiError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"status": status, "message": message}}})
}

func (f *Fake) catalog(w http.ResponseWriter, r *http.Request, key string) {
	if r.Header.Get("Authorization") != "Bearer "+accessToken {
		w.Header().Set("WWW-Authenticate", `Basic realm="Artifactory Realm"`)
		apiError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if key != repoKey {
		apiError(w, http.StatusNotFound, "Repository "+key+" not found")
		return
	}
	q := r.URL.Query()
	n := len(f.images)
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			apiError(w, http.StatusBadRequest, "Invalid value for parameter n: "+s)
			return
		}
		n = v
	}
	start := 0
	if last := q.Get("last"); last != "" {
		start, _ = slices.BinarySearch(f.images, last)
		if start < len(f.images) && f.images[start] == last {
			start++
		}
	}
	end := min(start+n, len(f.images))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"repositories": append([]string{}, f.images[start:end]...)})
}
