// Package acrfake is the fake of the acr provider's vendor API that its
// tests and the CLI's run against, in front of a real docker-registry.
package acrfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/azauth/entrafake"
)

// The fake's credentials and names, for tests of other packages.
const (
	AdminUser    = adminUser
	AdminPass    = adminPass
	RefreshToken = refreshToken
	Tenant       = tenant
	ClientID     = clientID
	ClientSecret = clientSecret
)

// The credentials of the tests.
const (
	adminUser    = "stellaops"
	adminPass    = "acr-admin-password-s3cr3t"
	refreshToken = "acr-refresh-token-s3cr3t"
	tenant       = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
	clientID     = "0f1e2d3c-aaaa-bbbb-cccc-000000000002"
	clientSecret = "acr-client-secret-s3cr3t"
)

// fakeACR serves the part of ACR's API the connector calls, as Azure's
// "ACR authentication" and catalog references describe them: POST
// /oauth2/exchange (grant_type access_token, service, tenant, an Entra
// token the test's Entra issued) answering {"refresh_token"}; /oauth2/token
// with the refresh_token grant (POST) or the admin user (GET with Basic)
// answering {"access_token"} for the scope asked; GET /acr/v1/_catalog
// with that Bearer, n (1-1000, else 400 PAGINATION_NUMBER_INVALID) and
// last (names after it), a Link rel="next" while more remain; 401
// UNAUTHORIZED bodies ({"errors":[{code,message}]}) and 429
// TOOMANYREQUESTS. /v2/ goes to a real docker-registry, as the login
// server serves both.
type Fake struct {
	// Server serves the vendor API and, behind it, the registry.
	Server    *httptest.Server
	entra     *entrafake.Entra // nil: only the admin user
	repos     []string         // sorted
	throttled atomic.Bool
	retry     atomic.Int32 // Retry-After seconds of a throttled answer

	mu     sync.Mutex
	tokens map[string]bool // catalog access tokens issued
}

// Start serves the fake in front of the registry at registry.
func Start(t testing.TB, registry string, repos []string, entra *entrafake.Entra) *Fake {
	f := &Fake{entra: entra, repos: append([]string(nil), repos...), tokens: map[string]bool{}}
	sort.Strings(f.repos)
	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.throttled.Load() {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.retry.Load())))
			acrError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many requests")
			return
		}
		switch r.URL.Path {
		case "/oauth2/exchange":
			f.exchange(w, r)
		case "/oauth2/token":
			f.token(w, r)
		case "/acr/v1/_catalog":
			f.catalog(w, r)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(f.Server.Close)
	return f
}

// Throttle answers every request 429 with Retry-After: seconds.
func (f *Fake) Throttle(seconds int) { f.retry.Store(int32(seconds)); f.throttled.Store(true) }

// Host is the fake login server's host (the service of its tokens).
func (f *Fake) Host() string { u, _ := url.Parse(f.Server.URL); return u.Host }

func acrError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) exchange(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "access_token" {
		acrError(w, http.StatusBadRequest, "UNSUPPORTED", "grant_type access_token is required")
		return
	}
	if r.PostForm.Get("service") != f.Host() {
		acrError(w, http.StatusBadRequest, "UNSUPPORTED", "service must be the registry's login server")
		return
	}
	if f.entra == nil || r.PostForm.Get("tenant") != tenant {
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the tenant is not trusted by this registry")
		return
	}
	if _, ok := f.entra.Lookup(r.PostForm.Get("access_token")); !ok {
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the access token is invalid")
		return
	}
	writeJSON(w, map[string]string{"refresh_token": refreshToken})
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	var ok bool
	var scope string
	switch r.Method {
	case http.MethodPost:
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "refresh_token" {
			acrError(w, http.StatusBadRequest, "UNSUPPORTED", "grant_type refresh_token is required")
			return
		}
		ok = r.PostForm.Get("refresh_token") == refreshToken && r.PostForm.Get("service") == f.Host()
		scope = r.PostForm.Get("scope")
	case http.MethodGet:
		user, pass, basic := r.BasicAuth()
		ok = basic && user == adminUser && pass == adminPass && r.URL.Query().Get("service") == f.Host()
		scope = r.URL.Query().Get("scope")
	}
	if !ok {
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	if scope == "" {
		acrError(w, http.StatusBadRequest, "UNSUPPORTED", "scope is required")
		return
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok := "acr-access-" + hex.EncodeToString(b)
	f.mu.Lock()
	f.tokens[tok] = scope == "registry:catalog:*"
	f.mu.Unlock()
	writeJSON(w, map[string]string{"access_token": tok})
}

func (f *Fake) catalog(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	catalog, known := f.tokens[tok]
	f.mu.Unlock()
	if !known {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+f.Server.URL+`/oauth2/token",service="`+f.Host()+`",scope="registry:catalog:*"`)
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	if !catalog {
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the token does not grant registry:catalog:*")
		return
	}
	q := r.URL.Query()
	n := 100
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
			acrError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "invalid number of results requested")
			return
		}
	}
	start := sort.SearchStrings(f.repos, q.Get("last"))
	if start < len(f.repos) && f.repos[start] == q.Get("last") {
		start++
	}
	end := min(start+n, len(f.repos))
	if end < len(f.repos) {
		w.Header().Set("Link", `</acr/v1/_catalog?last=`+url.QueryEscape(f.repos[end-1])+`&n=`+strconv.Itoa(n)+`&orderby=>; rel="next"`)
	}
	writeJSON(w, map[string]any{"repositories": f.repos[start:end]})
}
