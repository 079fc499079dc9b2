package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// pagedHub is a fake of the operator endpoints that serves 250 events in
// pages of 100 and records the queries it got.
type pagedHub struct {
	mu      sync.Mutex
	queries []string
}

func (h *pagedHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer op-token" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"code":"FORBIDDEN","message":"operators only"}`)
		return
	}
	h.mu.Lock()
	h.queries = append(h.queries, r.URL.RawQuery)
	h.mu.Unlock()
	from := uint64(1)
	var body map[string]any
	switch r.URL.Path {
	case "/api/v1/operator/events":
		if v := r.URL.Query().Get("fromSeq"); v != "" {
			from, _ = strconv.ParseUint(v, 10, 64)
		}
	case "/api/v1/operator/events/replay":
		_ = json.NewDecoder(r.Body).Decode(&body)
		if v, ok := body["fromSeq"].(float64); ok {
			from = uint64(v)
		}
	}
	const last = 250
	to := min(from+99, last)
	page := map[string]any{"lastSeq": last + 7} // later events exist but are not part of the range
	if to < last {
		page["nextSeq"] = to + 1
	}
	if body != nil {
		page["count"] = int(to - from + 1)
		page["duplicates"] = 0
	} else {
		items := []map[string]any{}
		for seq := from; seq <= to; seq++ {
			items = append(items, map[string]any{"stream": "INTHUB_EVENTS", "sequence": seq, "subject": "integration.health.changed.t.i",
				"time": "2025-01-31T09:00:00Z", "headers": map[string]string{}, "data": map[string]any{"n": seq}})
		}
		page["items"] = items
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

// runApp runs stella in-process with stderr a terminal or not.
func runApp(t *testing.T, server string, terminal bool, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	env := map[string]string{"STELLA_SERVER": server, "STELLA_TOKEN": "op-token"}
	a := &app{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }, isTerminal: func(io.Writer) bool { return terminal }}
	root := a.newRoot()
	root.SetArgs(args)
	if _, err := root.ExecuteContextC(context.Background()); err != nil {
		code = a.exitCode(err)
		a.printError(root, err, code)
	}
	return out.String(), errOut.String(), code
}

func TestReplayShowsProgressOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	for _, terminal := range []bool{true, false} {
		t.Run(fmt.Sprintf("terminal=%v", terminal), func(t *testing.T) {
			t.Parallel()
			hub := &pagedHub{}
			srv := httptest.NewServer(hub)
			defer srv.Close()

			stdout, stderr, code := runApp(t, srv.URL, terminal, "events", "replay", "--subject", "integration.health.changed", "--since", "1h", "-o", "json")
			var page struct {
				Items []struct {
					Sequence uint64 `json:"sequence"`
				} `json:"items"`
			}
			if code != 0 || json.Unmarshal([]byte(stdout), &page) != nil || len(page.Items) != 250 || page.Items[249].Sequence != 250 {
				t.Fatalf("exit %d, %d items\n%s", code, len(page.Items), stderr)
			}
			hasProgress := strings.Contains(stderr, "reading events: page 2, 100 so far") && strings.Contains(stderr, "\r\033[K")
			if hasProgress != terminal || (!terminal && stderr != "") {
				t.Fatalf("stderr %q", stderr)
			}
			// Later pages start at nextSeq, without since, ending at the
			// first page's lastSeq.
			if len(hub.queries) != 3 || hub.queries[0] != "since=1h&subject=integration.health.changed" ||
				hub.queries[1] != "fromSeq=101&subject=integration.health.changed&toSeq=257" || hub.queries[2] != "fromSeq=201&subject=integration.health.changed&toSeq=257" {
				t.Fatalf("queries %q", hub.queries)
			}

			stdout, stderr, code = runApp(t, srv.URL, terminal, "events", "replay", "--subject", "integration.health.changed", "--from-seq", "1", "--to", "999", "--republish-to", "inthub.replay.x")
			if code != 0 || !strings.Contains(stdout, "republished 250 events to inthub.replay.x") {
				t.Fatalf("republish: exit %d\n%s%s", code, stdout, stderr)
			}
			if strings.Contains(stderr, "republishing to inthub.replay.x: 100 events so far") != terminal || (!terminal && stderr != "") {
				t.Fatalf("republish stderr %q", stderr)
			}
		})
	}
}

func TestForbiddenIsExit4(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&pagedHub{})
	defer srv.Close()
	var out, errOut strings.Builder
	code := Run([]string{"dlq", "list"}, &out, &errOut, func(k string) string {
		return map[string]string{"STELLA_SERVER": srv.URL, "STELLA_TOKEN": "tenant-token"}[k]
	})
	if code != ExitUnauthorized || !strings.Contains(errOut.String(), "FORBIDDEN") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
}

func TestReadSSE(t *testing.T) {
	t.Parallel()
	stream := ": following new events\nretry: 3000\n\n" +
		"id: 7\ndata: {\"sequence\":7}\n\n" +
		": heartbeat\n\n" +
		"id: 8\ndata: {\"a\":\ndata: 1}\n\n" +
		"event: error\ndata: {\"code\":\"UNAVAILABLE\",\"message\":\"the event stream broke\"}\n\n" +
		"id: 9\ndata: {}\n\n"
	var got []string
	err := readSSE(strings.NewReader(stream), func(id string, data []byte) error {
		got = append(got, id+"="+string(data))
		return nil
	})
	var api *apiError
	if !errors.As(err, &api) || api.Body.Code != "UNAVAILABLE" {
		t.Fatalf("error event: %v", err)
	}
	if strings.Join(got, "|") != `7={"sequence":7}|8={"a":`+"\n"+`1}` {
		t.Fatalf("events %q", got)
	}
	err = readSSE(strings.NewReader("id: 1\ndata: {}\n\n"), func(string, []byte) error { return nil })
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("end of stream: %v", err)
	}
}
