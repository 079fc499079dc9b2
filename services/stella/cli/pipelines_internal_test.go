package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// runsAPI is the hub's runs endpoints for one integration ("it-1"): a
// trigger makes run "run-1", which answers 404 PIPELINE_RUN_NOT_FOUND on
// its first read (the runner has not stored it), then each read moves it
// one step along queued, running, the pipeline's verdict ("deploy"
// succeeds, "broken" fails, "stuck" stays running until cancelled).
type runsAPI struct {
	mu      sync.Mutex
	body    triggerInput
	key     string
	reads   int
	run     contracts.PipelineRun
	cancels int
}

func (h *runsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	notFound := func(code string) {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(contracts.ErrorBody{Code: code, Message: "missing"})
	}
	if !strings.HasPrefix(r.URL.Path, "/api/v1/integrations/it-1/") {
		notFound("INTEGRATION_NOT_FOUND")
		return
	}
	switch path := strings.TrimPrefix(r.URL.Path, "/api/v1/integrations/it-1"); {
	case r.Method == http.MethodPost && path == "/runs":
		_ = json.NewDecoder(r.Body).Decode(&h.body)
		h.key = r.Header.Get("Idempotency-Key")
		h.run = contracts.PipelineRun{RunID: "run-1", Pipeline: h.body.Pipeline, Ref: h.body.Ref, Parameters: h.body.Parameters, Status: contracts.RunQueued}
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(runAccepted{RunID: "run-1", RequestID: "req-1"})
	case r.Method == http.MethodGet && path == "/runs/run-1":
		h.reads++
		switch {
		case h.reads == 1:
			notFound(runNotFound)
			return
		case h.reads == 2 || h.run.Status.Final():
		case h.run.Status == contracts.RunQueued:
			h.run.Status = contracts.RunRunning
		case h.body.Pipeline == "deploy":
			h.run.Status = contracts.RunSucceeded
		case h.body.Pipeline == "broken":
			h.run.Status = contracts.RunFailed
		}
		_ = json.NewEncoder(w).Encode(h.run)
	case r.Method == http.MethodPost && path == "/runs/run-1/cancel":
		h.cancels++
		_ = json.NewEncoder(w).Encode(h.run)
		h.run.Status = contracts.RunCancelled
	case r.Method == http.MethodGet && path == "/runs":
		_ = json.NewEncoder(w).Encode(contracts.PipelineRunList{Items: []contracts.PipelineRun{h.run}, NextCursor: "c2"})
	default:
		notFound("NOT_FOUND")
	}
}

// TestPipelinesTriggerWait: --wait follows the run through its states,
// prints each status once on a terminal (nothing on a pipe) and exits
// with the verdict: 0 succeeded, 1 failed.
func TestPipelinesTriggerWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pipeline string
		terminal       bool
		code           int
		progress       []string
	}{
		{"succeeds on a terminal", "deploy", true, ExitOK, []string{"queued", "running", "succeeded"}},
		{"fails on a terminal", "broken", true, ExitError, []string{"queued", "running", "failed"}},
		{"succeeds on a pipe", "deploy", false, ExitOK, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := &runsAPI{}
			srv := httptest.NewServer(api)
			defer srv.Close()
			out, errOut, code := runApp(t, srv.URL, tc.terminal, "pipelines", "trigger", "it-1", "--pipeline", tc.pipeline, "--ref", "main",
				"--param", "VERSION=1.2.3", "--param", "ENV=prod", "--idempotency-key", "release-7", "--wait", "--interval", "5ms", "-o", "json")
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errOut)
			}
			if api.body.Parameters["VERSION"] != "1.2.3" || api.body.Parameters["ENV"] != "prod" || api.body.Ref != "main" || api.key != "release-7" {
				t.Errorf("sent %+v with key %q", api.body, api.key)
			}
			var run contracts.PipelineRun
			if err := json.Unmarshal([]byte(out), &run); err != nil || !run.Status.Final() {
				t.Fatalf("stdout %q: %v", out, err)
			}
			var seen []string
			for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] != "run" && f[0] != "error:" {
					seen = append(seen, f[1])
				}
			}
			if strings.Join(seen, ",") != strings.Join(tc.progress, ",") {
				t.Errorf("progress %v, want %v (stderr %q)", seen, tc.progress, errOut)
			}
			if tc.code != ExitOK && !strings.Contains(errOut, "run run-1 failed") {
				t.Errorf("stderr %q names no verdict", errOut)
			}
		})
	}
}

// TestPipelinesCommands: trigger without --wait prints the run id; get,
// list and cancel call their endpoints; a bad --param is exit 2 and an
// unknown integration exit 3, also under --wait.
func TestPipelinesCommands(t *testing.T) {
	t.Parallel()
	api := &runsAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"trigger", []string{"trigger", "it-1", "--pipeline", "stuck"}, ExitOK, "run-1"},
		{"get before the runner stored it", []string{"get", "it-1", "run-1"}, ExitNotFound, runNotFound},
		{"get", []string{"get", "it-1", "run-1"}, ExitOK, "queued"},
		{"list", []string{"list", "it-1", "--limit", "5"}, ExitOK, "stuck"},
		{"cancel", []string{"cancel", "it-1", "run-1"}, ExitOK, "run-1"},
		{"bad param", []string{"trigger", "it-1", "--pipeline", "x", "--param", "novalue"}, ExitInvalidInput, "--param takes key=value"},
		{"no pipeline", []string{"trigger", "it-1"}, ExitInvalidInput, "pipeline"},
		{"unknown integration", []string{"trigger", "it-2", "--pipeline", "x", "--wait"}, ExitNotFound, "INTEGRATION_NOT_FOUND"},
	}
	for _, tc := range tests { // in order: one fake run
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runApp(t, srv.URL, false, append([]string{"pipelines"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q, want %q", code, tc.code, out, errOut, tc.want)
			}
		})
	}
	if api.cancels != 1 {
		t.Fatalf("%d cancels, want 1", api.cancels)
	}
}

// TestPipelinesWaitEndsOnCancel: a run cancelled while stella waits ends
// the wait with exit 1.
func TestPipelinesWaitEndsOnCancel(t *testing.T) {
	t.Parallel()
	api := &runsAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	go func() {
		for {
			time.Sleep(5 * time.Millisecond)
			api.mu.Lock()
			running := api.run.Status == contracts.RunRunning
			if running {
				api.run.Status = contracts.RunCancelled
			}
			api.mu.Unlock()
			if running {
				return
			}
		}
	}()
	_, errOut, code := runApp(t, srv.URL, true, "pipelines", "trigger", "it-1", "--pipeline", "stuck", "--wait", "--interval", "5ms")
	if code != ExitError || !strings.Contains(errOut, "cancelled") {
		t.Fatalf("exit %d, stderr %q; want 1 and cancelled", code, errOut)
	}
}
