package httpx

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOnCredentialReportsWhatIsSent(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			w.Header().Set("Location", "/hooks/T000/B000/xyzzy?api_key=k3y-in-query")
			w.WriteHeader(http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	cases := []struct {
		name     string
		hidePath bool
		header   http.Header
		want     []string
		not      []string
	}{
		{
			name: "credential headers and the token after the scheme",
			header: http.Header{"Authorization": {"Bearer derived-access-token"}, "X-Vault-Token": {"hvs.vault"},
				"Private-Token": {"glpat-1"}, "Cookie": {"sid=c00kie"}, "X-Hub-Signature-256": {"sha256=abc"},
				"Proxy-Authorization": {"Basic cHJveHk6cHc="}, "Accept": {"application/json"}},
			want: []string{"Bearer derived-access-token", "derived-access-token", "hvs.vault", "glpat-1", "sid=c00kie",
				"sha256=abc", "cHJveHk6cHc=", "k3y-in-query"},
			not: []string{"application/json", "/hooks/T000/B000/xyzzy"},
		},
		{name: "a hidden path", hidePath: true, want: []string{"/hooks/T000/B000/xyzzy", "/first"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []string
			c := newTestClient(t, Options{Policy: GuardPolicy{AllowPrivate: true}, HidePath: tc.hidePath, OnCredential: func(v string) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, v)
			}})
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/first", nil)
			req.Header = tc.header
			if req.Header == nil {
				req.Header = http.Header{}
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q not reported (got %q)", w, got)
				}
			}
			for _, n := range tc.not {
				if slices.Contains(got, n) {
					t.Errorf("%q reported but is no credential", n)
				}
			}
		})
	}
}

func TestScrubRunsBeforeTheSnippetPatterns(t *testing.T) {
	t.Parallel()
	// The patterns alone would redact only the run after the slash (or the
	// first word after "password="), leaving the rest of the secret readable.
	const secret = "ab/cdefghijklmnopqrstuvwxyz0123456789 tail"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("bad password=" + secret + " and " + secret))
	}))
	t.Cleanup(srv.Close)
	scrub := func(s string) string { return strings.ReplaceAll(s, secret, "[redacted]") }
	for _, tc := range []struct {
		name  string
		scrub func(string) string
		leaks bool
	}{{"without scrub the patterns split the secret", nil, true}, {"with scrub", scrub, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, Options{Policy: GuardPolicy{AllowPrivate: true}, Scrub: tc.scrub})
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			msg := CheckResponse(resp, time.Now()).Error()
			if leaked := strings.Contains(msg, "ab/") || strings.Contains(msg, "tail"); leaked != tc.leaks {
				t.Fatalf("leaked=%v, want %v: %s", leaked, tc.leaks, msg)
			}
		})
	}
}
