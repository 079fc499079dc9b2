package dockerregistry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// fakeRegistry fakes the one behaviour Debian's docker-registry (2.8)
// lacks: tags/list pagination with n, last and a Link header, as
// distribution 3 and hosted registries answer it. Everything else is tested
// against the real registry.
type fakeRegistry struct {
	repo    string
	tags    []string          // sorted, as distribution 3 lists them
	digests map[string]string // a tag without one answers 404 (deleted)
	// linkHost, when set, makes Link targets absolute URLs on that host.
	linkHost string

	listCalls atomic.Int64
	mu        sync.Mutex
	accepts   []string
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED")
		return
	}
	switch p := r.URL.Path; {
	case p == "/v2/":
		w.WriteHeader(http.StatusOK)
	case p == "/v2/"+f.repo+"/tags/list" && r.Method == http.MethodGet:
		f.listTags(w, r)
	case strings.HasPrefix(p, "/v2/"+f.repo+"/manifests/") && r.Method == http.MethodHead:
		f.mu.Lock()
		f.accepts = append(f.accepts, r.Header.Get("Accept"))
		f.mu.Unlock()
		d, ok := f.digests[strings.TrimPrefix(p, "/v2/"+f.repo+"/manifests/")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		// A manifest HEAD answers as distribution does: digest, media
		// type and length of the manifest.
		w.Header().Set("Docker-Content-Digest", d)
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Content-Length", "512")
		w.WriteHeader(http.StatusOK)
	default:
		writeError(w, http.StatusNotFound, "NAME_UNKNOWN")
	}
}

func (f *fakeRegistry) listTags(w http.ResponseWriter, r *http.Request) {
	f.listCalls.Add(1)
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n <= 0 {
		writeError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
		return
	}
	start, _ := slices.BinarySearch(f.tags, q.Get("last"))
	if q.Get("last") != "" && start < len(f.tags) && f.tags[start] == q.Get("last") {
		start++
	}
	end := min(start+n, len(f.tags))
	if end < len(f.tags) {
		target := fmt.Sprintf("/v2/%s/tags/list?last=%s&n=%d", f.repo, f.tags[end-1], n)
		if f.linkHost != "" {
			target = "http://" + f.linkHost + target
		}
		w.Header().Set("Link", "<"+target+`>; rel="next"`)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"name": f.repo, "tags": f.tags[start:end]})
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": strings.ToLower(code)}}})
}

func newFakeRegistry(t *testing.T, linkHost string) (*fakeRegistry, *httptest.Server) {
	f := &fakeRegistry{repo: "team/app", digests: map[string]string{}, linkHost: linkHost}
	for i := range 20 {
		tag := fmt.Sprintf("t%02d", i)
		f.tags = append(f.tags, tag)
		if i != 5 { // t05 was deleted after the listing
			f.digests[tag] = fmt.Sprintf("sha256:%064x", i)
		}
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// TestTagsLinkPagination pages tags as distribution 3 serves them.
func TestTagsLinkPagination(t *testing.T) {
	t.Parallel()
	all := func(keep func(int) bool) []string {
		var out []string
		for i := range 20 {
			if keep(i) {
				out = append(out, fmt.Sprintf("t%02d", i))
			}
		}
		return out
	}
	tests := []struct {
		name      string
		linkHost  string
		digests   bool
		q         connectors.DiscoveryQuery
		want      []string
		pages     []int
		listCalls int
	}{
		{name: "7 a page", q: connectors.DiscoveryQuery{PageSize: 7},
			want: all(func(int) bool { return true }), pages: []int{7, 7, 6}, listCalls: 3},
		{name: "with digests", digests: true, q: connectors.DiscoveryQuery{PageSize: 7},
			want: all(func(int) bool { return true }), pages: []int{7, 7, 6}, listCalls: 3},
		{name: "filter fills pages across registry pages", q: connectors.DiscoveryQuery{PageSize: 7, Filter: contracts.DiscoveryFilter{NamePattern: "t1*"}},
			want: all(func(i int) bool { return i >= 10 }), pages: []int{7, 3}, listCalls: 4},
		{name: "filter matching nothing stops after maxListRequests per call", q: connectors.DiscoveryQuery{PageSize: 1, Filter: contracts.DiscoveryFilter{NamePattern: "x*"}},
			pages: []int{0, 0}, listCalls: 20},
		{name: "a Link to another host only lends its query", linkHost: "127.0.0.2:9", q: connectors.DiscoveryQuery{PageSize: 7},
			want: all(func(int) bool { return true }), pages: []int{7, 7, 6}, listCalls: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, srv := newFakeRegistry(t, tc.linkHost)
			c, _ := newConnector(t, setup{url: srv.URL, config: map[string]any{"resolveDigests": tc.digests}, secret: basicSecret(user, password)})
			q := tc.q
			q.ResourceType, q.Filter.Repository = ResourceTags, f.repo
			got, err := discoverAll(t, c, q)
			checkCode(t, err, "")
			if !slices.Equal(got.names, tc.want) {
				t.Fatalf("discovered %v, want %v", got.names, tc.want)
			}
			if !slices.Equal(got.pageSizes, tc.pages) {
				t.Fatalf("page sizes %v, want %v", got.pageSizes, tc.pages)
			}
			if n := int(f.listCalls.Load()); n != tc.listCalls {
				t.Fatalf("%d tags/list calls, want %d", n, tc.listCalls)
			}
			for _, r := range got.resources {
				d, has := r.Attributes["digest"]
				if want, ok := f.digests[r.Name]; tc.digests && ok && d != want {
					t.Fatalf("%s: digest %v, want %s", r.Name, d, want)
				}
				if has && (!tc.digests || r.Name == "t05") {
					t.Fatalf("%s has a digest %v it should not have", r.Name, d)
				}
			}
			if !tc.digests {
				return
			}
			f.mu.Lock()
			accepts := f.accepts
			f.mu.Unlock()
			if len(accepts) != len(f.tags) {
				t.Fatalf("%d manifest HEADs, want one per tag (%d)", len(accepts), len(f.tags))
			}
			for _, mt := range []string{"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
				"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json"} {
				if !strings.Contains(accepts[0], mt) {
					t.Fatalf("HEAD Accept %q lacks %s", accepts[0], mt)
				}
			}
		})
	}
}

// TestDigestFailureFailsThePage: an auth failure on a manifest HEAD is not
// a missing digest but the call's error.
func TestDigestFailureFailsThePage(t *testing.T) {
	t.Parallel()
	f, _ := newFakeRegistry(t, "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			writeError(w, http.StatusForbidden, "DENIED")
			return
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, _ := newConnector(t, setup{url: srv.URL, config: map[string]any{"resolveDigests": true}, secret: basicSecret(user, password)})
	_, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceTags, Filter: contracts.DiscoveryFilter{Repository: f.repo}})
	checkCode(t, err, resilience.PermissionDenied, password)
}
