package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/services/ingress"
)

// lineWriter keeps what run prints, safe for the printing goroutine.
type lineWriter struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// `make run` honours the settings a separate service reads: tokens from
// INTHUB_TOKENS and INTHUB_TOKENS_FILE beside the dev token, the body
// limit, the health-scheduler's workers and flap threshold, and serves
// metrics on METRICS_ADDR only.
func TestMakeRunHonoursTheDocumentedSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const tenant = "0193a0b4-0000-7000-8000-0000000000c2"
	tokensFile := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokensFile, []byte(`{"tokens":[{"name":"file","tenantId":"`+tenant+`","sha256":"`+ingress.HashToken("token-from-the-file")+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"INTHUB_ADDR":           "127.0.0.1:0",
		"METRICS_ADDR":          "127.0.0.1:0",
		"INTHUB_DATA_DIR":       filepath.Join(dir, "data"),
		"INTHUB_TOKENS":         "ci:" + tenant + ":" + ingress.HashToken("token-from-the-env"),
		"INTHUB_TOKENS_FILE":    tokensFile,
		"INTHUB_BODY_LIMIT":     "2048",
		"INTHUB_CHECK_WORKERS":  "5",
		"INTHUB_FLAP_THRESHOLD": "3",
	}
	out := &lineWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})

	line := regexp.MustCompile(`listening on http://(\S+)  \(metrics http://(\S+)/metrics, `)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; m = line.FindStringSubmatch(out.String()) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("run ended: %v (printed %q)", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line: %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	api, metrics := "http://"+m[1], "http://"+m[2]
	devToken, err := os.ReadFile(filepath.Join(env["INTHUB_DATA_DIR"], "dev-token"))
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, url, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	tests := []struct {
		name, method, url, token, body string
		want                           int
	}{
		{"INTHUB_TOKENS", "GET", api + "/api/v1/integrations", "token-from-the-env", "", 200},
		{"INTHUB_TOKENS_FILE", "GET", api + "/api/v1/integrations", "token-from-the-file", "", 200},
		{"the dev token beside them", "GET", api + "/api/v1/integrations", strings.TrimSpace(string(devToken)), "", 200},
		{"an unknown token", "GET", api + "/api/v1/integrations", "not-a-token", "", 401},
		{"INTHUB_BODY_LIMIT", "POST", api + "/api/v1/integrations", "token-from-the-env", `{"name":"` + strings.Repeat("x", 3000) + `"}`, 413},
		{"no metrics on the API port", "GET", api + "/metrics", "", "", 404},
		{"METRICS_ADDR", "GET", metrics + "/metrics", "", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, body := call(tc.method, tc.url, tc.token, tc.body); got != tc.want {
				t.Errorf("%s %s: %d %.200s, want %d", tc.method, tc.url, got, body, tc.want)
			}
		})
	}
	t.Run("INTHUB_CHECK_WORKERS and INTHUB_FLAP_THRESHOLD", func(t *testing.T) {
		logFile := filepath.Join(env["INTHUB_DATA_DIR"], "devstack.log")
		var logs string
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs, "health-scheduler ready"); time.Sleep(20 * time.Millisecond) {
			b, _ := os.ReadFile(logFile)
			logs = string(b)
			if time.Now().After(deadline) {
				t.Fatalf("no 'health-scheduler ready' in %s", logFile)
			}
		}
		for _, want := range []string{`"workers":5`, `"flap_threshold":3`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the health-scheduler did not start with %s", want)
			}
		}
	})
}
