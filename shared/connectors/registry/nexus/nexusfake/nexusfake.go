// Package nexusfake is the fake of the nexus provider's vendor API that its
// tests and the CLI's run against, in front of a real docker-registry.
package nexusfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The fake's credentials and names, for tests of other packages.
const (
	Username = username
	Password = password
	RepoName = repoName
)

// The credential and repository of the tests.
const (
	username = "release-bot"
	password = "nexus-s3cr3t-password-value"
	repoName = "docker-hosted"
)

// pageSize is the number of items of a Nexus REST page.
// PageSize is the fake's page of components.
const PageSize = 10

const pageSize = PageSize

// Version is one component of the fake: an image name and a tag.
type Version struct{ name, tag string }

// fakeNexus serves the part of Nexus Repository 3's REST API the connector
// calls, as Sonatype's REST API reference describes it:
//   - GET /service/rest/v1/status: 200 when the instance can serve reads,
//     no authentication;
//   - GET /service/rest/v1/status/check: the system checks, authenticated
//     (401 without or with a wrong basic credential);
//   - GET /service/rest/v1/components?repository=&continuationToken=:
//     {"items": [...], "continuationToken": token or null}, 10 components
//     a page, one per image version; basic auth (none or a wrong one: 401
//     with a BASIC challenge); no repository parameter or an unknown one:
//     404; a continuationToken it did not issue: 404.
//
// Nexus documents no rate limit. /v2/ goes to a real docker-registry with
// token auth, as path-based routing serves HOST/v2/{repository}/{image}.
type Fake struct {
	// Server serves the vendor API and, behind it, the registry.
	Server     *httptest.Server
	components []Version
	mu         sync.Mutex
	tokens     map[string]int // issued continuation tokens: offset
}

// Start serves the fake in front of the registry at registry.
func Start(t testing.TB, registry string, components []Version) *Fake {
	f := &Fake{components: components, tokens: map[string]int{}}
	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v2/"):
			proxy.ServeHTTP(w, r)
		case r.URL.Path == "/service/rest/v1/status":
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/service/rest/v1/status/check":
			if !authorized(w, r) {
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"Available CPUs":{"healthy":true,"message":"The host system is allocating a maximum of 2 cores to the application."}}`))
		case r.URL.Path == "/service/rest/v1/components":
			f.list(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Server.Close)
	return f
}

// Versions are the components of images: each image in tags, all images
// at one tag before the next, so an image is on many pages.
func Versions(images []string, tags ...string) []Version {
	var out []Version
	for _, tag := range tags {
		for _, name := range images {
			out = append(out, Version{name, tag})
		}
	}
	return out
}

// authorized checks the basic credential as Nexus does, answering 401
// with its challenge otherwise.
func authorized(w http.ResponseWriter, r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); ok && u == username && p == password {
		return true
	}
	w.Header().Set("WWW-Authenticate", `BASIC realm="Sonatype Nexus Repository Manager"`)
	w.WriteHeader(http.StatusUnauthorized)
	return false
}

// token is the continuation token of the page at offset: an opaque hex
// string, as Nexus issues them.
// Token is the continuation token the fake issues for offset.
func (f *Fake) Token(offset int) string {
	sum := sha256.Sum256([]byte("nexus-page:" + strconv.Itoa(offset)))
	tok := hex.EncodeToString(sum[:16])
	f.mu.Lock()
	f.tokens[tok] = offset
	f.mu.Unlock()
	return tok
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	q := r.URL.Query()
	if q.Get("repository") != repoName {
		http.Error(w, "Repository not found", http.StatusNotFound)
		return
	}
	offset := 0
	if tok := q.Get("continuationToken"); tok != "" {
		f.mu.Lock()
		o, ok := f.tokens[tok]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "Continuation token not found", http.StatusNotFound)
			return
		}
		offset = o
	}
	end := min(offset+pageSize, len(f.components))
	items := []map[string]any{}
	for i, c := range f.components[offset:end] {
		items = append(items, map[string]any{"id": strconv.Itoa(offset + i), "repository": repoName, "format": "docker",
			"group": nil, "name": c.name, "version": c.tag, "assets": []any{}})
	}
	body := map[string]any{"items": items, "continuationToken": nil}
	if end < len(f.components) {
		body["continuationToken"] = f.Token(end)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}
