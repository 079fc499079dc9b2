package jenkinsfake

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFakeRejectsWhatJenkinsRejects sends the fake requests Jenkins refuses.
func TestFakeRejectsWhatJenkinsRejects(t *testing.T) {
	t.Parallel()
	f := New(t)
	f.AddStandardTree()
	basicOf := func(user, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret))
	}
	// A session and its crumb, as a password client gets them.
	req, _ := http.NewRequest("GET", f.srv.URL+"/crumbIssuer/api/json", nil)
	req.Header.Set("Authorization", basicOf("alice", AlicePassword))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var issued struct{ Crumb string }
	_ = json.NewDecoder(resp.Body).Decode(&issued)
	resp.Body.Close()
	session := resp.Cookies()[0]

	tests := []struct {
		name, method, path string
		header             http.Header
		cookie             *http.Cookie
		status             int
		want               string
	}{
		{"anonymous", "GET", "/api/json", nil, nil, 403, "Authentication required"},
		{"a wrong token", "GET", "/api/json", http.Header{"Authorization": {basicOf("alice", "nope")}}, nil, 401, "Invalid password/token for user: alice"},
		{"Basic without a colon", "GET", "/api/json", http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("alice"))}}, nil, 401, "Malformed"},
		{"a password POST without crumb", "POST", "/job/app-000/build", http.Header{"Authorization": {basicOf("alice", AlicePassword)}}, session, 403, "No valid crumb"},
		{"a crumb without its session", "POST", "/job/app-000/build",
			http.Header{"Authorization": {basicOf("alice", AlicePassword)}, "Jenkins-Crumb": {issued.Crumb}}, nil, 403, "No valid crumb"},
		{"a parameterized job built without form", "POST", "/job/team-a/job/svc-00/build", http.Header{"Authorization": {basicOf("alice", AliceToken)}}, nil, 400, "Nothing is submitted"},
		{"an unknown job", "GET", "/job/nope/api/json", http.Header{"Authorization": {basicOf("bob", BobToken)}}, nil, 404, "Not Found"},
		{"a shallow tree lists no grandchildren", "GET", "/api/json?tree=jobs%5Bname%5D", http.Header{"Authorization": {basicOf("bob", BobToken)}}, nil, 200, `"name":"team-a"}`},
		{"a malformed tree", "GET", "/api/json?tree=jobs%5Bname", http.Header{"Authorization": {basicOf("bob", BobToken)}}, nil, 400, "unclosed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			if tc.cookie != nil {
				req.AddCookie(tc.cookie)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) || resp.Header.Get("X-Jenkins") == "" {
				t.Fatalf("HTTP %d %s, want %d with %s and X-Jenkins", resp.StatusCode, b, tc.status, tc.want)
			}
		})
	}
}
