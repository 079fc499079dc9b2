package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const (
	user     = "alice"
	password = "correct-horse-battery"
)

// newRegistry builds the core on a guarded client as the runtime does
// (loopback allowed, as for a registry of the test).
func newRegistry(t *testing.T, raw string) *Registry {
	t.Helper()
	hc, err := httpx.New(httpx.Options{Policy: httpx.GuardPolicy{AllowPrivate: true}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(connectors.Instance{HTTP: hc, Integration: contracts.Integration{TypeID: "test"}}, u)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAgainstRegistryWithTokenAuth runs every v2 path of the core against
// one real docker-registry whose tokens come from the test token server,
// fronted by a proxy that answers 429 TOOMANYREQUESTS with Retry-After once
// told to.
func TestAgainstRegistryWithTokenAuth(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{user: password}, TokenAuth: true, TokenTTL: time.Minute, TokenRealmHost: "localhost"})
	digests := reg.Push(t, "team/app", "1.0.0", "1.1.0", "latest")
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	created := reg.PushCreated(t, "team/dated", map[string]time.Time{"old": t0, "new": t0.Add(48 * time.Hour)})
	r := newRegistry(t, reg.URL)
	right, wrong := Auth{Username: user, Password: password}, Auth{Username: user, Password: "wrong-horse"}

	t.Run("ping without credentials", func(t *testing.T) {
		t.Parallel()
		connectortest.CheckCode(t, r.Ping(ctxT(t)), "")
	})
	auths := []struct {
		name string
		auth Auth
		repo string
		want resilience.Code
	}{
		{"credentials for a repository", right, "team/app", ""},
		{"credentials for the catalog", right, "", ""},
		{"wrong password", wrong, "team/app", resilience.AuthenticationFailed},
		{"a token of the registry's issuer", Auth{Token: reg.Token.Mint(user)}, "team/app", ""},
		{"a forged token", Auth{Token: "not-a-jwt"}, "team/app", resilience.AuthenticationFailed},
	}
	for _, tc := range auths {
		t.Run("authenticate/"+tc.name, func(t *testing.T) {
			t.Parallel()
			connectortest.CheckCode(t, r.Authenticate(ctxT(t), tc.auth, tc.repo), tc.want, password, "wrong-horse")
		})
	}
	t.Run("tags with digests", func(t *testing.T) {
		t.Parallel()
		names, next, err := r.TagsPage(ctxT(t), right, "team/app", "", 100)
		connectortest.CheckCode(t, err, "")
		if slices.Sort(names); !slices.Equal(names, []string{"1.0.0", "1.1.0", "latest"}) || next != "" {
			t.Fatalf("tags %v, next %q", names, next)
		}
		tags := []Tag{{Name: "1.0.0"}, {Name: "latest"}, {Name: "deleted"}}
		connectortest.CheckCode(t, r.Details(ctxT(t), right, "team/app", tags, false), "")
		if tags[0].Digest != digests["1.0.0"] || tags[1].Digest != digests["latest"] || tags[2].Digest != "" {
			t.Fatalf("digests %+v, pushed %v", tags, digests)
		}
	})
	t.Run("tags with creation times", func(t *testing.T) {
		t.Parallel()
		tags := []Tag{{Name: "old"}, {Name: "new"}}
		connectortest.CheckCode(t, r.Details(ctxT(t), right, "team/dated", tags, true), "")
		if !tags[0].Created.Equal(t0) || !tags[1].Created.Equal(t0.Add(48*time.Hour)) || tags[1].Digest != created["new"] {
			t.Fatalf("details %+v", tags)
		}
	})
	failures := []struct {
		name string
		auth Auth
		repo string
		want resilience.Code
	}{
		{"unknown repository", right, "team/nope", resilience.ResourceNotFound},
		{"wrong password", wrong, "team/app", resilience.AuthenticationFailed},
		{"invalid name", right, "../v2/_catalog", resilience.InvalidConfig},
	}
	for _, tc := range failures {
		t.Run("tags/"+tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := r.TagsPage(ctxT(t), tc.auth, tc.repo, "", 10)
			connectortest.CheckCode(t, err, tc.want, password, "wrong-horse")
		})
	}
	t.Run("429 with Retry-After", func(t *testing.T) {
		t.Parallel()
		th := connectortest.StartThrottle(t, reg.URL, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", strconv.Itoa(connectortest.RetryAfterSeconds))
			writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS")
		})
		limited := newRegistry(t, th.URL)
		_, _, err := limited.TagsPage(ctxT(t), right, "team/app", "", 10)
		connectortest.CheckCode(t, err, "")
		th.Limit()
		_, _, err = limited.TagsPage(ctxT(t), right, "team/app", "", 10)
		connectortest.CheckCode(t, err, resilience.RateLimited, password)
		if d := resilience.RetryAfterOf(err); d != connectortest.RetryAfterSeconds*time.Second {
			t.Fatalf("retry after %s, want %ds", d, connectortest.RetryAfterSeconds)
		}
	})
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": code}}})
}

// TestTagsLinkPagination pages tags as distribution 3 serves them (n,
// last and a Link header), which Debian's registry 2.8 does not, and
// follows only the Link's query, on the registry's own host.
func TestTagsLinkPagination(t *testing.T) {
	t.Parallel()
	var all []string
	for i := range 23 {
		all = append(all, fmt.Sprintf("t%02d", i))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.URL.Path != "/v2/team/app/tags/list" {
			writeError(w, http.StatusNotFound, "NAME_UNKNOWN")
			return
		}
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
			return
		}
		start, _ := slices.BinarySearch(all, r.URL.Query().Get("last"))
		if last := r.URL.Query().Get("last"); last != "" && start < len(all) && all[start] == last {
			start++
		}
		end := min(start+n, len(all))
		if end < len(all) {
			w.Header().Set("Link", fmt.Sprintf(`<http://elsewhere.example/v2/team/app/tags/list?last=%s&n=%d>; rel="next"`, all[end-1], n))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "team/app", "tags": all[start:end]})
	}))
	t.Cleanup(srv.Close)
	r := newRegistry(t, srv.URL)
	var got []string
	var sizes []int
	page := ""
	for range 10 {
		names, next, err := r.TagsPage(ctxT(t), Auth{}, "team/app", page, 10)
		connectortest.CheckCode(t, err, "")
		got, sizes = append(got, names...), append(sizes, len(names))
		if page = next; page == "" {
			break
		}
	}
	if !slices.Equal(got, all) || !slices.Equal(sizes, []int{10, 10, 3}) {
		t.Fatalf("tags %v in pages %v", got, sizes)
	}
	_, _, err := r.TagsPage(ctxT(t), Auth{}, "team/app", "%zz", 10)
	connectortest.CheckCode(t, err, resilience.InvalidConfig)
}

// TestClassify maps the distribution spec's error codes and statuses.
func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   string
		want   resilience.Code
	}{
		{http.StatusUnauthorized, "UNAUTHORIZED", resilience.AuthenticationFailed},
		{http.StatusForbidden, "DENIED", resilience.PermissionDenied},
		{http.StatusNotFound, "NAME_UNKNOWN", resilience.ResourceNotFound},
		{http.StatusNotFound, "MANIFEST_UNKNOWN", resilience.ResourceNotFound},
		{http.StatusBadRequest, "NAME_INVALID", resilience.InvalidConfig},
		{http.StatusTooManyRequests, "TOOMANYREQUESTS", resilience.RateLimited},
		{http.StatusInternalServerError, "UNKNOWN", resilience.UpstreamError},
		{http.StatusForbidden, "", resilience.PermissionDenied},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.code), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					w.WriteHeader(http.StatusOK)
					return
				}
				if tc.code == "" {
					w.WriteHeader(tc.status)
					return
				}
				writeError(w, tc.status, tc.code)
			}))
			t.Cleanup(srv.Close)
			_, _, err := newRegistry(t, srv.URL).TagsPage(ctxT(t), Auth{}, "team/app", "", 1)
			connectortest.CheckCode(t, err, tc.want)
		})
	}
}

// TestHonoursTheClientTimeout: go-containerregistry sends through the
// transport, not the client, so the guarded client's Timeout never bounded
// a v2 request and a registry that never answers held a check for as long
// as the caller's context allowed.
func TestHonoursTheClientTimeout(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })
	hc, err := httpx.New(httpx.Options{Policy: httpx.GuardPolicy{AllowPrivate: true}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	r, err := New(connectors.Instance{HTTP: hc, Integration: contracts.Integration{TypeID: "test"}}, u)
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"ping", r.Ping},
		{"authenticate", func(ctx context.Context) error {
			return r.Authenticate(ctx, Auth{Username: user, Password: password}, "a/b")
		}},
		{"tags", func(ctx context.Context) error { _, _, err := r.TagsPage(ctx, Auth{}, "a/b", "", 0); return err }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			err := tc.call(ctxT(t))
			connectortest.CheckCode(t, err, resilience.Timeout)
			if took := time.Since(began); took > 3*time.Second {
				t.Fatalf("took %s with a 200ms client timeout", took)
			}
		})
	}
}
