package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// keysOf returns the top-level keys of one JSON object in their order,
// repeats included (a map would hide them), and the object.
func keysOf(t *testing.T, line string) ([]string, map[string]any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %q", line)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	return keys, m
}

// TestEveryLineNamesOneService: a log line has exactly one "service" key,
// the innermost service's name, also when a process that runs several
// services (make run) derives their loggers from its own (issue 19: lines
// read {"service":"devstack",...,"service":"manager"}).
func TestEveryLineNamesOneService(t *testing.T) {
	tests := []struct {
		name    string
		log     func(l *slog.Logger)
		service string
		attrs   map[string]any // other keys the line must hold
	}{
		{name: "the process's own line", service: "devstack",
			log: func(l *slog.Logger) { l.Info("started", "addr", ":8080") }, attrs: map[string]any{"addr": ":8080"}},
		{name: "a service run by the process", service: "manager",
			log: func(l *slog.Logger) { l.With("service", "manager").Info("ready", "bucket", "integrations") }, attrs: map[string]any{"bucket": "integrations"}},
		{name: "a service with other attributes given together", service: "notifier",
			log: func(l *slog.Logger) { l.With("component", "outbox", "service", "notifier").Info("x") }, attrs: map[string]any{"component": "outbox"}},
		{name: "renamed twice", service: "ingress",
			log: func(l *slog.Logger) { l.With("service", "manager").With("service", "ingress").Info("x") }},
		{name: "a service key on the record itself", service: "manager",
			log: func(l *slog.Logger) { l.With("service", "manager").Info("x", "service", "other") }},
		{name: "a group keeps its own keys", service: "manager",
			log: func(l *slog.Logger) {
				l.With("service", "manager").WithGroup("req").Info("x", "service", "upstream")
			}, attrs: map[string]any{"req": map[string]any{"service": "upstream"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(NewLogger(&buf, "info", "devstack"))
			line := strings.TrimSpace(buf.String())
			keys, m := keysOf(t, line)
			n := 0
			for _, k := range keys {
				if k == "service" {
					n++
				}
			}
			if n != 1 || m["service"] != tc.service {
				t.Fatalf("%d service keys, service %v, want one %q: %s", n, m["service"], tc.service, line)
			}
			for k, want := range tc.attrs {
				gb, _ := json.Marshal(m[k])
				wb, _ := json.Marshal(want)
				if !bytes.Equal(gb, wb) {
					t.Errorf("%s = %s, want %s: %s", k, gb, wb, line)
				}
			}
		})
	}
}

// TestLoggerLevel: the level filter still applies through the wrapper.
func TestLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(&buf, "warn", "x").With("service", "y")
	l.Info("dropped")
	l.Warn("kept")
	if !l.Enabled(context.Background(), slog.LevelWarn) || l.Enabled(context.Background(), slog.LevelInfo) {
		t.Fatal("Enabled does not follow the level")
	}
	if s := buf.String(); strings.Contains(s, "dropped") || !strings.Contains(s, "kept") {
		t.Fatalf("output %q", s)
	}
}
