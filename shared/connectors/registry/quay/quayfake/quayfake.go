// Package quayfake is the fake of Quay's API v1 the quay provider's tests
// and the CLI's run against, in front of a real docker-registry.
package quayfake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// The API token and namespace of the fake.
const (
	APIToken  = "quay-oauth-s3cr3t-token-value"
	Namespace = "stellaops"
)

const (
	apiToken  = APIToken
	namespace = Namespace
)

// fakeQuay serves the part of Quay's API v1 the connector calls, as Quay's
// API reference describes it: GET /api/v1/repository with namespace and an
// opaque next_page token, {"repositories": [...], "next_page": token} (no
// next_page after the last page), a Bearer OAuth token, and errors as
// ApiError ({"status","error_message","error_type","detail","title"}).
// Everything else — /v2/ and the token flow — goes to a real
// docker-registry, as Quay serves the registry API on the same host.
type Fake struct {
	// Server serves the API and, behind it, the registry.
	Server    *httptest.Server
	repos     []string // names within the namespace
	pageSize  int
	throttled atomic.Bool
	retry     int
}

// Start serves repos (names within Namespace) pageSize a page in front of
// the registry at registry.
func Start(t testing.TB, registry string, repos []string, pageSize int) *Fake {
	f := &Fake{repos: repos, pageSize: pageSize}
	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.throttled.Load() {
			w.Header().Set("Retry-After", strconv.Itoa(f.retry))
			apiError(w, http.StatusTooManyRequests, "too_many_requests", "rate limited")
			return
		}
		if r.URL.Path == "/api/v1/repository" {
			f.listRepositories(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			apiError(w, http.StatusNotFound, "not_found", "not found")
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Server.Close)
	return f
}

// Throttle answers every request 429 with Retry-After: seconds.
func (f *Fake) Throttle(seconds int) { f.retry = seconds; f.throttled.Store(true) }

func apiError(w http.ResponseWriter, status int, errType, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "error_message": detail, "error_type": errType,
		"detail": detail, "title": errType})
}

// PageToken is the fake's opaque next_page: the offset, encoded so a
// client cannot make one up.
func PageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("quay-page:" + strconv.Itoa(offset)))
}

func parsePageToken(s string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "quay-page:"))
	return n, err == nil && strings.HasPrefix(string(b), "quay-page:") && n > 0
}

func (f *Fake) listRepositories(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+apiToken {
		apiError(w, http.StatusUnauthorized, "invalid_token", "Requires authentication")
		return
	}
	q := r.URL.Query()
	switch ns := q.Get("namespace"); {
	case ns == "" && q.Get("public") != "true" && q.Get("starred") != "true":
		apiError(w, http.StatusBadRequest, "invalid_request", "namespace, public or starred is required")
		return
	case ns != "" && ns != namespace:
		apiError(w, http.StatusNotFound, "not_found", "Not Found")
		return
	}
	offset := 0
	if v := q.Get("next_page"); v != "" {
		var ok bool
		if offset, ok = parsePageToken(v); !ok || offset >= len(f.repos) {
			apiError(w, http.StatusBadRequest, "invalid_request", "Invalid page token")
			return
		}
	}
	end := min(offset+f.pageSize, len(f.repos))
	body := map[string]any{}
	if end < len(f.repos) {
		body["next_page"] = PageToken(end)
	}
	items := []map[string]any{}
	for _, name := range f.repos[offset:end] {
		items = append(items, map[string]any{"namespace": namespace, "name": name, "description": "", "is_public": false,
			"kind": "image", "state": "NORMAL", "last_modified": 1767225600, "is_starred": false})
	}
	body["repositories"] = items
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}
