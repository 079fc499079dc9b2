// Package gcrfake is the fake of the gcr provider's vendor API that its
// tests and the CLI's run against, in front of a real docker-registry.
package gcrfake

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/gcpauth/gcpfake"
)

// scope is the OAuth2 scope the provider asks for (gcr.Scope; this
// package cannot import the provider, whose tests import it).
const scope = "https://www.googleapis.com/auth/cloud-platform"

// The fake's credentials and names, for tests of other packages.
const (
	Project     = project
	Location    = location
	Repository  = repository
	Email       = email
	AccessToken = accessToken
)

// The project, location, repository, service account and access token of
// the tests.
const (
	project     = "hub-project"
	location    = "europe-west1"
	repository  = "releases"
	email       = "reader@hub-project.iam.gserviceaccount.com"
	accessToken = "ya29.fixed-access-token-s3cr3t"
)

// fakeGAR serves Google's OAuth2 token endpoint (gcpfake, the JWT bearer
// grant) and the part of the Artifact Registry API v1 the connector calls,
// as its reference describes it: GET
// /v1/projects/{p}/locations/{l}/repositories/{r}/packages with pageSize
// (at most 1000) and an opaque pageToken, {"packages": [...],
// "nextPageToken"} (none after the last page), package names ending in the
// URL-escaped image path, a Bearer token the endpoint issued, and Google's
// error bodies (401 UNAUTHENTICATED, 404 NOT_FOUND, 400 INVALID_ARGUMENT
// for a page token it did not issue, 429 RESOURCE_EXHAUSTED without
// Retry-After). The registry API v2 is a real docker-registry behind it, as
// <location>-docker.pkg.dev serves it.
type Fake struct {
	// Server serves the vendor API and, behind it, the registry.
	Server *httptest.Server
	// Issuer is the fake OAuth2 token endpoint (AddAccount makes a key).
	Issuer *gcpfake.Issuer
	images []string
	// Throttled answers 429 RESOURCE_EXHAUSTED.
	Throttled atomic.Bool
}

// Start serves the fake in front of the registry at registry.
func Start(t testing.TB, registry string, images []string) *Fake {
	f := &Fake{images: images}
	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			f.Issuer.ServeToken(w, r)
		case strings.HasPrefix(r.URL.Path, "/v1/"):
			f.api(w, r)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(f.Server.Close)
	f.Issuer = gcpfake.NewIssuer(func() string { return f.Server.URL + "/token" }, scope)
	f.Issuer.Fixed = accessToken
	return f
}

// PageToken is the fake's opaque page token for offset.
func PageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("gar-page:" + strconv.Itoa(offset)))
}

func parsePageToken(s string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), "gar-page:") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "gar-page:"))
	return n, err == nil && n > 0
}

func (f *Fake) api(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.Issuer.Lookup(r.Header.Get("Authorization")); !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		gcpfake.APIError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if f.Throttled.Load() {
		gcpfake.APIError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.")
		return
	}
	parent := "projects/" + project + "/locations/" + location + "/repositories/" + repository
	if r.URL.Path != "/v1/"+parent+"/packages" {
		gcpfake.APIError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
		return
	}
	q := r.URL.Query()
	size := 100
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			gcpfake.APIError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid page size")
			return
		}
		if n > 0 {
			size = min(n, 1000)
		}
	}
	offset := 0
	if v := q.Get("pageToken"); v != "" {
		var ok bool
		if offset, ok = parsePageToken(v); !ok || offset >= len(f.images) {
			gcpfake.APIError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid page token")
			return
		}
	}
	end := min(offset+size, len(f.images))
	items := []map[string]any{}
	for _, image := range f.images[offset:end] {
		items = append(items, map[string]any{"name": parent + "/packages/" + url.PathEscape(image),
			"createTime": "2026-01-01T00:00:00.000000Z", "updateTime": "2026-01-02T00:00:00.000000Z"})
	}
	body := map[string]any{"packages": items}
	if end < len(f.images) {
		body["nextPageToken"] = PageToken(end)
	}
	gcpfake.WriteJSON(w, http.StatusOK, body)
}
