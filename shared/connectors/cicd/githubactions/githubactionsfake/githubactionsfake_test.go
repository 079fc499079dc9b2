package githubactionsfake

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFakeRejectsWhatGitHubRejects sends the fake requests GitHub refuses.
func TestFakeRejectsWhatGitHubRejects(t *testing.T) {
	t.Parallel()
	f := New(t)
	f.AddWorkflows(3)
	bearer := http.Header{"Authorization": {"Bearer " + UserToken}}
	tests := []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		want               string
	}{
		{"no User-Agent", "GET", "/user", http.Header{"Authorization": {"Bearer " + UserToken}, "User-Agent": {""}}, "", 403, "User-Agent"},
		{"an API version GitHub does not know", "GET", "/user", http.Header{"Authorization": {"Bearer " + UserToken}, "X-Github-Api-Version": {"2019-01-01"}}, "", 400, "is not supported"},
		{"Basic credentials", "GET", "/user", http.Header{"Authorization": {"Basic " + UserToken}}, "", 401, "Bad credentials"},
		{"a wrong token on a public endpoint", "GET", "/", http.Header{"Authorization": {"token " + WrongToken}}, "", 401, "Bad credentials"},
		{"anonymous /user", "GET", "/user", nil, "", 401, "Requires authentication"},
		{"a private repository to anonymous", "GET", "/repos/acme/app/actions/workflows", nil, "", 404, "Not Found"},
		{"an installation token on /user", "GET", "/user", http.Header{"Authorization": {"token " + InstallToken}}, "", 403, "Resource not accessible by integration"},
		{"a dispatch as a form", "POST", "/repos/acme/app/actions/workflows/deploy.yml/dispatches",
			http.Header{"Authorization": {"Bearer " + UserToken}, "Content-Type": {"application/x-www-form-urlencoded"}}, "ref=main", 415, "Content-Type"},
		{"a dispatch without ref", "POST", "/repos/acme/app/actions/workflows/deploy.yml/dispatches",
			http.Header{"Authorization": {"Bearer " + UserToken}, "Content-Type": {"application/json"}}, `{}`, 422, "ref"},
		{"per_page not a number", "GET", "/repos/acme/app/actions/workflows?per_page=x", bearer, "", 422, "per_page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("HTTP %d %s, want %d with %s", resp.StatusCode, b, tc.status, tc.want)
			}
			if resp.Header.Get("X-RateLimit-Limit") == "" && tc.status != 403 && tc.status != 400 {
				t.Fatalf("no x-ratelimit headers")
			}
		})
	}
}
