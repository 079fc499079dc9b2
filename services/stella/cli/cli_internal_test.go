package cli

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

func TestEveryCommandHasAnExample(t *testing.T) {
	t.Parallel()
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, isTerminal: func(io.Writer) bool { return false }}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.Hidden && strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(a.newRoot())
}

func TestSpecFormsParse(t *testing.T) {
	t.Parallel()
	// The flags of the documented command lines exist with these forms on both trees.
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, isTerminal: func(io.Writer) bool { return false }}
	root := a.newRoot()
	for _, prefix := range [][]string{{"config", "integrations"}, {"integrations"}} {
		for sub, flags := range map[string][]string{
			"create":   {"name", "type", "provider", "endpoint", "authref", "label", "config", "config-file", "description"},
			"update":   {"name", "endpoint", "authref", "label", "config", "config-file", "description", "if-match"},
			"discover": {"resource-type", "name-pattern", "repository", "limit", "refresh", "all", "cursor"},
			"list":     {"provider", "type", "label-selector", "health", "limit", "cursor", "all"},
		} {
			cmd, _, err := root.Find(append(append([]string{}, prefix...), sub))
			if err != nil || cmd.Name() != sub {
				t.Fatalf("%v %s: %v", prefix, sub, err)
			}
			for _, f := range append(flags, "output", "server", "token") {
				if cmd.Flags().Lookup(f) == nil && cmd.InheritedFlags().Lookup(f) == nil {
					t.Errorf("%s has no --%s", cmd.CommandPath(), f)
				}
			}
		}
	}
}

func TestParseConfigValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want any
	}{
		{"integer", "30", float64(30)},
		{"float", "1.5", 1.5},
		{"boolean", "true", true},
		{"array", `["a","b"]`, []any{"a", "b"}},
		{"object", `{"k":1}`, map[string]any{"k": float64(1)}},
		{"null removes in a merge patch", "null", nil},
		{"plain string", "X-Signature", "X-Signature"},
		{"url", "https://x.example.com:8443/a?b=c", "https://x.example.com:8443/a?b=c"},
		{"quoted JSON string", `"30"`, "30"},
		{"empty", "", ""},
		{"not quite a number", "30s", "30s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := parseConfigValue(tc.raw); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseConfigValue(%q) = %#v, want %#v", tc.raw, got, tc.want)
			}
		})
	}
}

func TestConfigFieldsOrder(t *testing.T) {
	t.Parallel()
	// --endpoint beats --config url=, which beats the file.
	f := inputFlags{endpoint: "https://endpoint.example.com", config: []string{"url=https://pair.example.com", "timeout=5"}}
	cfg, err := f.configFields(true)
	if err != nil || cfg["url"] != "https://endpoint.example.com" || cfg["timeout"] != float64(5) {
		t.Fatalf("%v %v", cfg, err)
	}
}

func TestYAMLKeepsTheAPIsOrderAndTypes(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	a := &app{stdout: &out, output: "yaml"}
	body := `{"id":"x","name":"true","revision":3,"ratio":0.5,"ok":false,"none":null,"labels":{},"items":[],"config":{"b":1,"a":"2026-03-01T09:00:00Z"}}`
	if err := a.emit([]byte(body), nil); err != nil {
		t.Fatal(err)
	}
	want := `id: x
name: "true"
revision: 3
ratio: 0.5
ok: false
none: null
labels: {}
items: []
config:
  b: 1
  a: "2026-03-01T09:00:00Z"
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	for _, terminal := range []bool{false, true} {
		var errOut strings.Builder
		a := &app{stderr: &errOut, isTerminal: func(io.Writer) bool { return terminal }}
		p := a.progress()
		p("page %d", 2)
		p("")
		if got := errOut.String() != ""; got != terminal {
			t.Fatalf("terminal=%v: stderr %q", terminal, errOut.String())
		}
	}
}

func TestAPIErrorExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, want int
	}{
		{400, ExitInvalidInput}, {409, ExitInvalidInput}, {412, ExitInvalidInput}, {413, ExitInvalidInput}, {415, ExitInvalidInput},
		{404, ExitNotFound}, {401, ExitUnauthorized}, {403, ExitUnauthorized},
		{405, ExitError}, {500, ExitError}, {502, ExitError}, {503, ExitError}, {504, ExitError},
	}
	for _, tc := range tests {
		e := &apiError{Status: tc.status, Body: contracts.ErrorBody{Code: "X", Message: "y"}}
		if got := (&app{ran: true}).exitCode(e); got != tc.want {
			t.Errorf("status %d: exit %d, want %d", tc.status, got, tc.want)
		}
	}
}

func TestNormalizeETag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "*": "*", "4": `"4"`, `"4"`: `"4"`, " 7 ": `"7"`} {
		if got := normalizeETag(in); got != want {
			t.Errorf("normalizeETag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeServer(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://localhost:8080", "http://localhost:8080"},
		{"localhost:8080", "http://localhost:8080"},
		{"https://hub.example.com/", "https://hub.example.com"},
		{"https://hub.example.com/prefix/", "https://hub.example.com/prefix"},
		{"ftp://x", ""},
		{"https://user:pw@hub.example.com", ""},
	}
	for _, tc := range tests {
		got, err := normalizeServer(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("normalizeServer(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCodeMessage(t *testing.T) {
	t.Parallel()
	tests := []struct{ code, message, want string }{
		{"INTEGRATION_NOT_FOUND", "integration not found", "INTEGRATION_NOT_FOUND: integration not found"},
		{"AUTHENTICATION_FAILED", "AUTHENTICATION_FAILED: rejected", "AUTHENTICATION_FAILED: rejected"},
		{"TIMEOUT", "", "TIMEOUT"},
		{"", "no code", "no code"},
	}
	for _, tc := range tests {
		if got := codeMessage(tc.code, tc.message); got != tc.want {
			t.Errorf("codeMessage(%q, %q) = %q, want %q", tc.code, tc.message, got, tc.want)
		}
	}
}
