package testsvc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// get sends a GET with optional Authorization and returns status and body.
func get(t *testing.T, rawURL, authorization string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func basic(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

func TestRegistryHtpasswdSurvivesRestart(t *testing.T) {
	t.Parallel()
	reg := StartRegistry(t, RegistryOptions{Users: map[string]string{"alice": "s3cret"}})
	digests := reg.Push(t, "team/app", "v1")
	wantTags := `{"name":"team/app","tags":["v1"]}` + "\n"

	tests := []struct {
		name, auth string
		status     int
	}{
		{"right password", basic("alice", "s3cret"), http.StatusOK},
		{"wrong password", basic("alice", "nope"), http.StatusUnauthorized},
		{"no credentials", "", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, _ := get(t, reg.URL+"/v2/team/app/tags/list", tc.auth); status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
		})
	}

	reg.Stop(t)
	if status, _ := get(t, reg.URL+"/v2/", ""); status != 0 {
		t.Fatalf("stopped registry answered %d", status)
	}
	reg.Start(t)
	status, body := get(t, reg.URL+"/v2/team/app/tags/list", basic("alice", "s3cret"))
	if status != http.StatusOK || body != wantTags {
		t.Fatalf("after restart: %d %q, want 200 %q", status, body, wantTags)
	}
	if d := digests["v1"]; len(d) != len("sha256:")+64 {
		t.Fatalf("digest %q", d)
	}
}

func TestRegistryTokenAuth(t *testing.T) {
	t.Parallel()
	reg := StartRegistry(t, RegistryOptions{Users: map[string]string{"bob": "pw"}, TokenAuth: true})
	reg.Push(t, "team/app", "v1")

	status, _ := get(t, reg.URL+"/v2/", "")
	if status != http.StatusUnauthorized {
		t.Fatalf("unauthenticated /v2/: %d, want 401", status)
	}
	status, body := get(t, reg.Token.Realm()+"?service="+reg.Token.Service+"&scope=repository:team/app:pull", basic("bob", "pw"))
	if status != http.StatusOK {
		t.Fatalf("token endpoint: %d %s", status, body)
	}
	var tok tokenResponse
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" || tok.ExpiresIn != 300 {
		t.Fatalf("token answer %q: %v", body, err)
	}
	tests := []struct {
		name, auth string
		status     int
	}{
		{"issued token", "Bearer " + tok.Token, http.StatusOK},
		{"token of another issuer", "Bearer " + StartTokenServer(t, TokenServerOptions{}).Mint("x", Access{"repository", "team/app", []string{"pull"}}), http.StatusUnauthorized},
		{"token without the scope", "Bearer " + reg.Token.Mint("bob"), http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := get(t, reg.URL+"/v2/team/app/tags/list", tc.auth); status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, body, tc.status)
			}
		})
	}
	if status, _ := get(t, reg.Token.Realm()+"?service="+reg.Token.Service, basic("bob", "wrong")); status != http.StatusUnauthorized {
		t.Fatalf("token endpoint with a wrong password: %d, want 401", status)
	}
}

func TestPrometheusBasicAuthAndRestart(t *testing.T) {
	t.Parallel()
	prom := StartPrometheus(t, PrometheusOptions{Users: map[string]string{"carol": "pw"}})
	tests := []struct {
		name, auth string
		status     int
	}{
		{"right password", basic("carol", "pw"), http.StatusOK},
		{"wrong password", basic("carol", "nope"), http.StatusUnauthorized},
		{"no credentials", "", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, _ := get(t, prom.URL+"/api/v1/query?query=vector(1)", tc.auth); status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
		})
	}
	prom.Stop(t)
	if status, _ := get(t, prom.URL+"/-/healthy", ""); status != 0 {
		t.Fatalf("stopped prometheus answered %d", status)
	}
	prom.Start(t)
	if status, body := get(t, prom.URL+"/api/v1/query?query=vector(1)", basic("carol", "pw")); status != http.StatusOK {
		t.Fatalf("after restart: %d %s", status, body)
	}
}
