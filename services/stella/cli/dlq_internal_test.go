package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/bus/ops"
)

// fakePurgeAPI answers the purge and delete endpoints with 3 matching dead
// letters and records what was really deleted.
type fakePurgeAPI struct {
	mu      sync.Mutex
	purges  []ops.PurgeQuery
	deletes []string
}

func (f *fakePurgeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/operator/dlq/purge" && r.URL.RawQuery == "":
		var sel ops.PurgeQuery
		if err := json.NewDecoder(r.Body).Decode(&sel); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		matching := uint64(3)
		if sel.Subject == "nothing.here" {
			matching = 0
		}
		w.Header().Set("Content-Type", "application/json")
		if sel.DryRun {
			_ = json.NewEncoder(w).Encode(ops.PurgeResult{Matching: matching})
			return
		}
		f.purges = append(f.purges, sel)
		_ = json.NewEncoder(w).Encode(ops.PurgeResult{Purged: matching, Matching: matching})
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v1/operator/dlq/"):
		f.deletes = append(f.deletes, strings.TrimPrefix(r.URL.Path, "/api/v1/operator/dlq/"))
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusTeapot)
	}
}

func TestDLQPurgeConfirms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		terminal bool
		answer   string
		code     int
		prompt   string // on stderr; empty: no question asked
		stdout   string
		stderr   string
		purged   []ops.PurgeQuery
		deleted  []string
	}{
		{"filter, answered yes", []string{"--subject", "integration.test.requested"}, true, "y\n", ExitOK,
			"Purge 3 dead letters? [y/N]", "purged 3 dead letters", "", []ops.PurgeQuery{{Subject: "integration.test.requested"}}, nil},
		{"tenant, answered YES", []string{"--tenant", "t-1"}, true, "YES\n", ExitOK,
			"Purge 3 dead letters? [y/N]", "purged 3", "", []ops.PurgeQuery{{TenantID: "t-1"}}, nil},
		{"filter, answered no", []string{"--subject", "integration.test.requested"}, true, "n\n", ExitError,
			"Purge 3 dead letters? [y/N]", "", "nothing was deleted", nil, nil},
		{"filter, just Enter", []string{"--subject", "integration.test.requested"}, true, "\n", ExitError,
			"Purge 3 dead letters? [y/N]", "", "nothing was deleted", nil, nil},
		{"filter, no answer", []string{"--subject", "integration.test.requested"}, true, "", ExitError,
			"Purge 3 dead letters? [y/N]", "", "nothing was deleted", nil, nil},
		{"all, answered yes", []string{"--all"}, true, "y\n", ExitOK,
			"Purge 3 dead letters? [y/N]", "purged 3", "", []ops.PurgeQuery{{All: true}}, nil},
		{"one, answered yes", []string{"42"}, true, "y\n", ExitOK,
			"Purge 1 dead letter? [y/N]", "deleted dead letter 42", "", nil, []string{"42"}},
		{"nothing matches", []string{"--subject", "nothing.here"}, true, "", ExitOK,
			"", "nothing to purge", "", nil, nil},
		{"--yes on a terminal", []string{"--subject", "integration.test.requested", "--yes"}, true, "", ExitOK,
			"", "purged 3", "", []ops.PurgeQuery{{Subject: "integration.test.requested"}}, nil},
		{"--yes elsewhere", []string{"--all", "--yes"}, false, "", ExitOK,
			"", "purged 3", "", []ops.PurgeQuery{{All: true}}, nil},
		{"not a terminal, no --yes", []string{"--subject", "integration.test.requested"}, false, "y\n", ExitInvalidInput,
			"", "", "stdin is not a terminal to ask: add --yes", nil, nil},
		{"no selection", []string{"--yes"}, false, "", ExitInvalidInput,
			"", "", "--all for every dead letter", nil, nil},
		{"no selection on a terminal", nil, true, "y\n", ExitInvalidInput,
			"", "", "--all for every dead letter", nil, nil},
		{"all with a filter", []string{"--all", "--tenant", "t-1", "--yes"}, false, "", ExitInvalidInput,
			"", "", "cannot be combined", nil, nil},
		{"a sequence with a filter", []string{"42", "--subject", "x", "--yes"}, false, "", ExitInvalidInput,
			"", "", "not several", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := &fakePurgeAPI{}
			srv := httptest.NewServer(api)
			defer srv.Close()
			var out, errOut bytes.Buffer
			env := map[string]string{"STELLA_SERVER": srv.URL, "STELLA_TOKEN": "t"}
			a := &app{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] },
				isTerminal: func(io.Writer) bool { return false },
				stdin:      strings.NewReader(tc.answer), stdinTerminal: tc.terminal}
			root := a.newRoot()
			root.SetArgs(append([]string{"dlq", "purge"}, tc.args...))
			code := ExitOK
			if cmd, err := root.ExecuteContextC(context.Background()); err != nil {
				code = a.exitCode(err)
				a.printError(cmd, err, code)
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, out.String(), errOut.String())
			}
			if got := strings.Contains(errOut.String(), "[y/N]"); got != (tc.prompt != "") || !strings.Contains(errOut.String(), tc.prompt) {
				t.Errorf("stderr %q, want the question %q", errOut.String(), tc.prompt)
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stdout %q stderr %q; want %q / %q", out.String(), errOut.String(), tc.stdout, tc.stderr)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if !slices.Equal(api.purges, tc.purged) || !slices.Equal(api.deletes, tc.deleted) {
				t.Errorf("purged %+v deleted %v; want %+v %v", api.purges, api.deletes, tc.purged, tc.deleted)
			}
		})
	}
}
