package dronefake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFakeAnswersAsDroneDoes sends the fake requests Drone refuses or
// reads in its own way, and checks the answers' shapes.
func TestFakeAnswersAsDroneDoes(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.AddHistory(HelloWorld, 30)
	alice := http.Header{"Authorization": {"Bearer " + AliceToken}}
	bob := http.Header{"Authorization": {"Bearer " + BobToken}}
	tests := []struct {
		name, method, path string
		header             http.Header
		status             int
		want               string
	}{
		{"a guest reads no user", "GET", "/api/user", nil, 401, `{"message":"Unauthorized"}`},
		{"a wrong token is a guest", "GET", "/api/user/repos", http.Header{"Authorization": {"Bearer nope"}}, 401, "Unauthorized"},
		{"a guest is not told a private repository exists", "GET", "/api/repos/octocat/broken/builds/1", nil, 401, "Unauthorized"},
		{"a guest is not told a repository is missing", "GET", "/api/repos/octocat/nope/builds", nil, 401, "Unauthorized"},
		{"a user is", "GET", "/api/repos/octocat/nope/builds", bob, 404, `{"message":"Not Found"}`},
		{"a reader may not start builds", "POST", "/api/repos/octocat/hello-world/builds", bob, 404, "Not Found"},
		{"a reader may not cancel builds", "DELETE", "/api/repos/octocat/hello-world/builds/1", bob, 404, "Not Found"},
		{"a build number that is no number", "GET", "/api/repos/octocat/hello-world/builds/x", alice, 400, "invalid syntax"},
		{"an unknown build", "GET", "/api/repos/octocat/hello-world/builds/99", alice, 404, "sql: no rows in result set"},
		{"an unknown branch", "POST", "/api/repos/octocat/hello-world/builds?branch=nope", alice, 404, "Not Found"},
		{"newest first, 25 by default", "GET", "/api/repos/octocat/hello-world/builds", bob, 200, `"number":30,`},
		{"per_page above 100 is 25", "GET", "/api/repos/octocat/hello-world/builds?per_page=500&page=2", bob, 200, `"number":5,`},
		{"a page that is no number is the first", "GET", "/api/repos/octocat/hello-world/builds?per_page=10&page=x", bob, 200, `"id":1021,`},
		{"a page past the end is empty", "GET", "/api/repos/octocat/hello-world/builds?per_page=10&page=4", bob, 200, "[]"},
		{"parameters but access_token become build parameters", "POST",
			"/api/repos/octocat/hello-world/builds?branch=main&access_token=x&DEPLOY=1", alice, 200, `"params":{"DEPLOY":"1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.URL()+tc.path, nil)
			if tc.header != nil {
				req.Header = tc.header
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
			if tc.status >= 400 {
				var e struct{ Message string }
				if json.Unmarshal(b, &e) != nil || e.Message == "" {
					t.Fatalf("error body %s is not Drone's {\"message\"}", b)
				}
			}
		})
	}
}

// TestSignWebhookSignsAsDrone pins SignWebhook to what Drone's sender
// (99designs/httpsignatures-go, hmac-sha256 over date and digest) puts on
// this delivery: the values were produced by that library for the same
// body, secret and date.
func TestSignWebhookSignsAsDrone(t *testing.T) {
	t.Parallel()
	h := SignWebhook("s3cr3t", []byte(`{"event":"build"}`), time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	want := map[string]string{
		"Date":      "Sun, 06 Dec 2026 12:00:00 GMT",
		"Digest":    "SHA-256=BsRS7q4yFvSnNVElaYtVHbqlOTZ6nzOBgiQE4L7+1Nw=",
		"Signature": `keyId="hmac-key",algorithm="hmac-sha256",signature="hNeNM1iTUKWRzTgAg3r0cngN1oXTcQU2AYMQ70gGJik=",headers="date digest"`,
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}
