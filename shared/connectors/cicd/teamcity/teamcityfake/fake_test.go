package teamcityfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFakeRefusesWhatTeamCityRefuses sends the fake requests TeamCity
// refuses, and checks the pagination it answers.
func TestFakeRefusesWhatTeamCityRefuses(t *testing.T) {
	t.Parallel()
	s := New(t)
	for i := range 5 {
		s.AddProject("P"+string(rune('a'+i)), "p", "")
	}
	bearer := http.Header{"Authorization": {"Bearer " + AliceToken}, "Accept": {"application/json"}}
	with := func(h http.Header, k, v string) http.Header {
		out := h.Clone()
		out.Set(k, v)
		return out
	}
	tests := []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		want                     string
	}{
		{"no token", "GET", "/app/rest/server", "", http.Header{"Accept": {"application/json"}}, 401, "Authentication required"},
		{"a wrong token", "GET", "/app/rest/server", "", with(bearer, "Authorization", "Bearer nope"), 401, "Authentication required"},
		{"basic is not a token", "GET", "/app/rest/server", "", with(bearer, "Authorization", "Basic "+AliceToken), 401, "Authentication required"},
		{"XML unless JSON is asked for", "GET", "/app/rest/server", "", with(bearer, "Accept", "*/*"), 200, "<server/>"},
		{"an unknown locator dimension", "GET", "/app/rest/projects?locator=page:2", "", bearer, 400, "Locator dimension 'page' is unknown"},
		{"a negative start", "GET", "/app/rest/projects?locator=count:2,start:-1", "", bearer, 400, "Invalid value of dimension 'start'"},
		{"a count that is no number", "GET", "/app/rest/buildTypes?locator=count:x", "", bearer, 400, "Invalid value of dimension 'count'"},
		{"an unclosed nested locator", "GET", "/app/rest/buildTypes?locator=affectedProject:(id:X", "", bearer, 400, "closing"},
		{"a first page names the next", "GET", "/app/rest/projects?locator=count:2,start:0", "", bearer, 200,
			`"nextHref":"/app/rest/projects?locator=count:2,start:2"`},
		{"the last page names none", "GET", "/app/rest/projects?locator=count:4,start:4", "", bearer, 200, `"count":3,`},
		{"a nested locator is kept in nextHref", "GET", "/app/rest/buildTypes?locator=count:1,affectedProject:(id:Pipelines)", "", bearer, 200,
			`locator=count:1,start:1,affectedProject:(id:Pipelines)`},
		{"a queued build without build type", "POST", "/app/rest/buildQueue", `{"branchName":"main"}`, with(bearer, "Content-Type", "application/json"), 400, "No 'buildType' element"},
		{"a build posted as a form", "POST", "/app/rest/buildQueue", `buildType=x`, with(bearer, "Content-Type", "application/x-www-form-urlencoded"), 415, "Unsupported Media Type"},
		{"a property without value", "POST", "/app/rest/buildQueue", `{"buildType":{"id":"Pipelines_Green"},"properties":{"property":[{"name":"x"}]}}`,
			with(bearer, "Content-Type", "application/json"), 400, "should not be empty"},
		{"an unknown build type", "POST", "/app/rest/buildQueue", `{"buildType":{"id":"Nope"}}`, with(bearer, "Content-Type", "application/json"), 404, "No build type nor template"},
		{"a build id that is no number", "GET", "/app/rest/builds/id:abc", "", bearer, 400, "Invalid value of dimension 'id'"},
		{"an unknown build", "GET", "/app/rest/builds/id:999", "", bearer, 404, "No build found"},
		{"cancel of an unknown queued build", "POST", "/app/rest/buildQueue/id:999", `{"comment":"x"}`, with(bearer, "Content-Type", "application/json"), 404, "No queued build found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.URL()+tc.path, strings.NewReader(tc.body))
			req.Header = tc.header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("HTTP %d %s, want %d with %s", resp.StatusCode, b, tc.status, tc.want)
			}
			if tc.status >= 400 && tc.status != 401 && !strings.HasPrefix(string(b), "Responding with error, status code: ") {
				t.Fatalf("error body %q is not TeamCity's", b)
			}
		})
	}
	// A build moves one state per read, and a running build leaves the
	// queue: cancelling it there is 404, on the build it works.
	req, _ := http.NewRequest("POST", s.URL()+"/app/rest/buildQueue", strings.NewReader(`{"buildType":{"id":"Pipelines_Green"}}`))
	req.Header = with(bearer, "Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var queued struct {
		ID    int    `json:"id"`
		State string `json:"state"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&queued)
	resp.Body.Close()
	states := []string{}
	for range 2 {
		req, _ := http.NewRequest("GET", s.URL()+"/app/rest/builds/id:"+itoa(queued.ID), nil)
		req.Header = bearer
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b struct{ State string }
		_ = json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		states = append(states, b.State)
	}
	if queued.State != "queued" || strings.Join(states, ",") != "queued,running" {
		t.Fatalf("posted %+v, then read %v", queued, states)
	}
	for path, status := range map[string]int{"/app/rest/buildQueue/id:" + itoa(queued.ID): 404, "/app/rest/builds/id:" + itoa(queued.ID): 200} {
		req, _ := http.NewRequest("POST", s.URL()+path, strings.NewReader(`{"comment":"stop","readdIntoQueue":false}`))
		req.Header = with(bearer, "Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("POST %s: HTTP %d, want %d", path, resp.StatusCode, status)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
