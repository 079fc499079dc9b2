package gitlabfake

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFakeRejectsWhatGitLabRejects sends the fake requests GitLab refuses.
func TestFakeRejectsWhatGitLabRejects(t *testing.T) {
	t.Parallel()
	f := New(t)
	f.AddCIProject(1, 1)
	tests := []struct {
		name, method, path string
		header             http.Header
		status             int
		body               string
	}{
		{"Authorization without Bearer", "GET", "/api/v4/user", http.Header{"Authorization": {"token " + PatAPI}}, 401, `"401 Unauthorized"`},
		{"an OAuth2 token in PRIVATE-TOKEN", "GET", "/api/v4/user", http.Header{"Private-Token": {OAuthToken}}, 401, `"401 Unauthorized"`},
		{"an unknown token on a public listing", "GET", "/api/v4/projects", http.Header{"Private-Token": {"glpat-nope"}}, 401, `"401 Unauthorized"`},
		{"anonymous /user", "GET", "/api/v4/user", nil, 401, `"401 Unauthorized"`},
		{"a read_user token listing projects", "GET", "/api/v4/projects", http.Header{"Private-Token": {PatReadUser}}, 403, `"insufficient_scope"`},
		{"keyset without order_by", "GET", "/api/v4/projects?pagination=keyset", http.Header{"Private-Token": {PatAPI}}, 405, "Keyset pagination"},
		{"an unencoded project path", "GET", "/api/v4/projects/team/app/pipelines", http.Header{"Private-Token": {PatAPI}}, 404, "404"},
		{"per_page 0", "GET", "/api/v4/projects/1/jobs?per_page=0", http.Header{"Private-Token": {PatAPI}}, 400, "per_page"},
		{"a private project to anonymous", "GET", "/api/v4/projects/team%2Fapp/pipelines", nil, 404, "404 Project Not Found"},
		{"a pipeline with a read_api token", "POST", "/api/v4/projects/1/pipeline?ref=main", http.Header{"Private-Token": {PatReadAPI}}, 403, `"insufficient_scope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Fatalf("HTTP %d %s, want %d with %s", resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
}
