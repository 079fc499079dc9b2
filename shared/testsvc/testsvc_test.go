package testsvc

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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

// TestPushTagged: every tag names the one manifest pushed, with token auth.
func TestPushTagged(t *testing.T) {
	t.Parallel()
	reg := StartRegistry(t, RegistryOptions{TokenAuth: true})
	tags := make([]string, 60)
	for i := range tags {
		tags[i] = "v0." + string(rune('a'+i%26)) + "." + string(rune('0'+i/26))
	}
	digest := reg.PushTagged(t, "team/many", tags)
	tok := "Bearer " + reg.Token.Mint("reader", Access{Type: "repository", Name: "team/many", Actions: []string{"pull"}})
	status, body := get(t, reg.URL+"/v2/team/many/tags/list?n=1000", tok)
	var list struct{ Tags []string }
	if err := json.Unmarshal([]byte(body), &list); status != http.StatusOK || err != nil || len(list.Tags) != len(tags) {
		t.Fatalf("tags/list: %d %v, %d tags; want %d", status, err, len(list.Tags), len(tags))
	}
	for _, tag := range []string{tags[0], tags[len(tags)-1]} {
		req, _ := http.NewRequest(http.MethodHead, reg.URL+"/v2/team/many/manifests/"+tag, nil)
		req.Header.Set("Authorization", tok)
		req.Header.Set("Accept", MediaTypeOCIManifest)
		resp, err := probeClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Docker-Content-Digest"); got != digest {
			t.Errorf("%s: digest %q, want %q", tag, got, digest)
		}
	}
}

// TestAPortAnsweredByAnotherProcessIsNotAStart: when another process holds
// the port a server was given (it took it between freePort and the child's
// bind), its answers must not pass for the child's: run refuses, so launch
// tries another port instead of handing the test someone else's server.
func TestAPortAnsweredByAnotherProcessIsNotAStart(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer other.Close()
	dir := t.TempDir()
	// A child that answers nothing: only the other server is listening.
	s := &Server{name: "sleeper", bin: "/bin/sleep", args: []string{"30"}, Dir: dir, logPath: filepath.Join(dir, "sleeper.log"), URL: other.URL,
		ready: func(ctx context.Context, base string) bool {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return true
		}}
	err := s.run()
	if err == nil {
		_ = s.stop()
		t.Fatal("run took the other process's answer for the child's")
	}
	if !strings.Contains(err.Error(), "another process answers") {
		t.Fatalf("run: %v", err)
	}
	// The check itself: this test binary listens on the other server's port,
	// the child did not.
	port := other.Listener.Addr().(*net.TCPAddr).Port
	if ok, err := listensOn(os.Getpid(), port); err != nil || !ok {
		t.Fatalf("listensOn(this process, %d) = %v, %v; want true", port, ok, err)
	}
}
