// Package dockerhubfake is the fake of the dockerhub provider's vendor API that its
// tests and the CLI's run against, in front of a real docker-registry.
package dockerhubfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fake's credentials and names, for tests of other packages.
const (
	HubUser   = hubUser
	HubPAT    = hubPAT
	Namespace = namespace
)

// The account of the tests: a username and a personal access token.
const (
	hubUser   = "ci-bot"
	hubPAT    = "dckr_pat_s3cr3t-value-of-the-test"
	namespace = "stellaops"
)

// fakeHub serves the part of the Docker Hub API the connector calls, as
// Docker's API reference describes it: POST /v2/auth/token
// ({identifier, secret} → {access_token}), GET
// /v2/namespaces/{namespace}/repositories (page from 1, page_size 1 to
// 1000, {count, next, previous, results}; anonymous callers see the public
// repositories only), errors as {"errinfo", "message"}, and the
// X-RateLimit-* headers on every answer (429 with Retry-After when the
// quota is spent). Everything else — the registry API v2 and its token
// flow — goes to a real docker-registry, which adds the ratelimit-limit
// and ratelimit-remaining headers registry-1.docker.io sends.
type Fake struct {
	// Server serves the vendor API and, behind it, the registry.
	Server    *httptest.Server
	repos     []Repo
	tokens    sync.Map // access token → true
	throttled atomic.Bool
	retry     int
}

// Repo is a repository of the fake's namespace.
type Repo struct {
	Name    string // without the namespace
	Private bool
}

// Start serves the fake in front of the registry at registry.
func Start(t testing.TB, registry string, repos []Repo) *Fake {
	f := &Fake{repos: repos}
	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		resp.Header.Set("ratelimit-limit", "100;w=21600")
		resp.Header.Set("ratelimit-remaining", "99;w=21600")
		return nil
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hubPath := r.URL.Path == "/v2/auth/token" || strings.HasPrefix(r.URL.Path, "/v2/namespaces/")
		if f.throttled.Load() {
			w.Header().Set("Retry-After", strconv.Itoa(f.retry))
			if hubPath {
				f.quota(w, 0)
				hubError(w, http.StatusTooManyRequests, "too many requests")
				return
			}
			w.Header().Set("ratelimit-limit", "100;w=21600")
			w.Header().Set("ratelimit-remaining", "0;w=21600")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}`))
			return
		}
		switch {
		case r.URL.Path == "/v2/auth/token":
			f.quota(w, 179)
			f.login(w, r)
		case strings.HasPrefix(r.URL.Path, "/v2/namespaces/"):
			f.quota(w, 179)
			f.listRepositories(w, r)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(f.Server.Close)
	return f
}

// Throttle answers every request 429 with Retry-After: seconds.
func (f *Fake) Throttle(seconds int) { f.retry = seconds; f.throttled.Store(true) }

// quota sets the Docker Hub API's rate-limit headers.
func (f *Fake) quota(w http.ResponseWriter, remaining int) {
	w.Header().Set("X-RateLimit-Limit", "180")
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
}

func hubError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errinfo": map[string]any{}, "message": message})
}

func (f *Fake) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		hubError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	var in struct {
		Identifier string `json:"identifier"`
		Secret     string `json:"secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Identifier == "" || in.Secret == "" {
		hubError(w, http.StatusBadRequest, "identifier and secret are required")
		return
	}
	if in.Identifier != hubUser || in.Secret != hubPAT {
		hubError(w, http.StatusUnauthorized, "incorrect authentication credentials")
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := "eyJ." + hex.EncodeToString(b)
	f.tokens.Store(token, true)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"access_token": token})
}

func (f *Fake) listRepositories(w http.ResponseWriter, r *http.Request) {
	anonymous := true
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if _, known := f.tokens.Load(token); !ok || !known {
			hubError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		anonymous = false
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // v2 namespaces {ns} repositories
	if len(parts) != 4 || parts[3] != "repositories" {
		hubError(w, http.StatusNotFound, "not found")
		return
	}
	if parts[2] != namespace {
		hubError(w, http.StatusNotFound, fmt.Sprintf("namespace %s not found", parts[2]))
		return
	}
	q := r.URL.Query()
	page, size := 1, 10
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			hubError(w, http.StatusBadRequest, "page must be an integer of at least 1")
			return
		}
	}
	if v := q.Get("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 1000 {
			hubError(w, http.StatusBadRequest, "page_size must be an integer from 1 to 1000")
			return
		}
	}
	var visible []Repo
	for _, repo := range f.repos {
		if !anonymous || !repo.Private {
			visible = append(visible, repo)
		}
	}
	start := (page - 1) * size
	if start > 0 && start >= len(visible) {
		hubError(w, http.StatusNotFound, "object not found") // a page past the end
		return
	}
	end := min(start+size, len(visible))
	link := func(p int) string {
		return fmt.Sprintf("http://%s/v2/namespaces/%s/repositories?page=%d&page_size=%d", r.Host, namespace, p, size)
	}
	body := map[string]any{"count": len(visible), "next": nil, "previous": nil}
	if end < len(visible) {
		body["next"] = link(page + 1)
	}
	if page > 1 {
		body["previous"] = link(page - 1)
	}
	results := []map[string]any{}
	for _, repo := range visible[start:end] {
		results = append(results, map[string]any{"name": repo.Name, "namespace": namespace, "repository_type": "image",
			"status": 1, "is_private": repo.Private, "pull_count": 42, "star_count": 1,
			"last_updated": "2026-01-02T00:00:00.000000Z", "date_registered": "2026-01-01T00:00:00.000000Z"})
	}
	body["results"] = results
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}
