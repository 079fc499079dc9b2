package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// TestHealthSaysWhy: an integration whose authentication fails shows, on its
// own read (the API, stella get and list -o wide), which level failed, the
// code and the message, from the scheduler's checks alone: nobody calls
// /test. Issue 19's "unhealthy without a why".
func TestHealthSaysWhy(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	env := h.env()
	// A registry that refuses every request without credentials, as a
	// private Docker registry does: reachable (the 401 is the API's
	// answer), so connectivity passes and authentication fails.
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Header().Set("WWW-Authenticate", `Basic realm="private registry"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}`)
	}))
	t.Cleanup(registry.Close)
	tests := []struct {
		name    string
		args    []string
		message string // a part of the authentication check's message
	}{
		{name: "inmemory rejecting its credentials", args: []string{"--name", "auth-fails", "--provider", "inmemory", "--config", "failureMode=auth-failed"},
			message: "credentials rejected"},
		{name: "docker-registry answering 401", args: []string{"--name", "private-registry", "--provider", "docker-registry", "--endpoint", registry.URL},
			message: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			it := create(t, env, tc.args...)
			// The scheduler checks a new integration at once, each level on
			// its own; wait for the connectivity and authentication results
			// to be joined into the read.
			var got contracts.Integration
			deadline := time.Now().Add(45 * time.Second)
			for {
				got = apiGet(t, h, it.ID)
				_, auth := got.HealthChecks[contracts.CheckAuthentication]
				_, conn := got.HealthChecks[contracts.CheckConnectivity]
				if auth && conn {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no connectivity and authentication results on the integration after 45s: %+v", got)
				}
				time.Sleep(200 * time.Millisecond)
			}
			auth := got.HealthChecks[contracts.CheckAuthentication]
			if auth.Status == contracts.HealthHealthy || auth.ErrorCode != "AUTHENTICATION_FAILED" || auth.IntegrationID != it.ID ||
				auth.CheckType != contracts.CheckAuthentication || auth.CheckedAt.IsZero() || auth.LatencyMs < 0 ||
				auth.Message == "" || !strings.Contains(auth.Message, tc.message) {
				t.Fatalf("authentication result %+v, want a failure AUTHENTICATION_FAILED with a message containing %q", auth, tc.message)
			}
			if c, ok := got.HealthChecks[contracts.CheckConnectivity]; !ok || c.Status != contracts.HealthHealthy || c.ErrorCode != "" {
				t.Errorf("connectivity result %+v (present %v), want healthy: the endpoint answers", c, ok)
			}
			switch got.CircuitBreaker {
			case "closed", "open", "half-open":
			default:
				t.Errorf("circuitBreaker %q, want closed, open or half-open", got.CircuitBreaker)
			}
			if got.LastHealthCheck == nil {
				t.Errorf("lastHealthCheck missing beside healthChecks")
			}

			// stella get: the detail table names the level, the code and the message.
			r := stella(t, env, "config", "integrations", "get", it.ID)
			if r.code != 0 {
				t.Fatalf("get: %s", r)
			}
			line := field(r.stdout, "  authentication")
			if !strings.Contains(line, "AUTHENTICATION_FAILED") || strings.HasPrefix(line, "healthy") {
				t.Errorf("get's authentication line %q lacks the failure:\n%s", line, r)
			}
			if !strings.Contains(r.stdout, auth.Message) {
				t.Errorf("get does not show the message %q:\n%s", auth.Message, r)
			}
			if field(r.stdout, "Circuit breaker:") == "" {
				t.Errorf("get does not show the circuit breaker:\n%s", r)
			}
			// stella get -o json is the API's answer with the same result.
			fromJSON := mustJSON[contracts.Integration](t, stella(t, env, "config", "integrations", "get", it.ID, "-o", "json"))
			if fromJSON.HealthChecks[contracts.CheckAuthentication].ErrorCode != "AUTHENTICATION_FAILED" {
				t.Errorf("get -o json: %+v", fromJSON.HealthChecks)
			}

			// stella list -o wide: the failing level and its code on the integration's row.
			r = stella(t, env, "config", "integrations", "list", "--all", "-o", "wide")
			if r.code != 0 {
				t.Fatalf("list -o wide: %s", r)
			}
			lines := strings.Split(r.stdout, "\n")
			if !strings.Contains(lines[0], "FAILING") || !strings.Contains(lines[0], "CODE") || !strings.Contains(lines[0], "BREAKER") {
				t.Errorf("list -o wide header %q", lines[0])
			}
			var row []string
			for _, l := range lines {
				if f := strings.Fields(l); len(f) > 0 && f[0] == it.ID {
					row = f
				}
			}
			if !containsSeq(row, "authentication", "AUTHENTICATION_FAILED") {
				t.Errorf("list -o wide row %q lacks the failing level and code:\n%s", row, r)
			}
			// The plain table keeps its columns.
			r = stella(t, env, "config", "integrations", "list", "--all")
			if strings.Contains(r.stdout, "FAILING") || strings.Contains(r.stdout, "AUTHENTICATION_FAILED") {
				t.Errorf("list (table) shows the wide columns:\n%s", r)
			}
		})
	}
}

// apiGet reads an integration straight from the API, as a tenant's client
// would.
func apiGet(t *testing.T, h *hub, id string) contracts.Integration {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.server+"/api/v1/integrations/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET integration: %d %s", resp.StatusCode, b)
	}
	var it contracts.Integration
	if err := json.NewDecoder(resp.Body).Decode(&it); err != nil {
		t.Fatal(err)
	}
	return it
}

// containsSeq reports whether a holds a, then b right after it.
func containsSeq(cells []string, a, b string) bool {
	for i := 0; i+1 < len(cells); i++ {
		if cells[i] == a && cells[i+1] == b {
			return true
		}
	}
	return false
}
