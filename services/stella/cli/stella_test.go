package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stella-ops/inthub/services/stella/cli"
	"github.com/stella-ops/inthub/shared/contracts"
)

func TestProviders(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	tests := []struct {
		name        string
		args        []string
		want, avoid []string
	}{
		{"table hides test-only providers", []string{"config", "integrations", "providers"}, []string{"ID", "CATEGORY", "webhook", "notification"}, []string{"inmemory"}},
		{"include-test-only shows them", []string{"config", "integrations", "providers", "--include-test-only"}, []string{"webhook", "inmemory", "(test only)", "repositories,tags"}, nil},
		{"json is the API body", []string{"config", "integrations", "providers", "-o", "json"}, []string{`"items": [`, `"id": "webhook"`, `"configFields"`}, []string{"inmemory"}},
		{"yaml", []string{"config", "integrations", "providers", "-o", "yaml"}, []string{"items:", "id: webhook"}, []string{"inmemory"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := stella(t, h.env(), tc.args...)
			if r.code != cli.ExitOK || r.stderr != "" {
				t.Fatalf("%s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(r.stdout, a) {
					t.Errorf("stdout has %q:\n%s", a, r.stdout)
				}
			}
		})
	}
	t.Run("json and yaml parse to the provider list", func(t *testing.T) {
		t.Parallel()
		list := mustJSON[contracts.ProviderList](t, stella(t, h.env(), "config", "integrations", "providers", "-o", "json"))
		var fromYAML contracts.ProviderList
		r := stella(t, h.env(), "config", "integrations", "providers", "-o", "yaml")
		if err := yaml.Unmarshal([]byte(r.stdout), &fromYAML); err != nil {
			t.Fatalf("yaml: %v\n%s", err, r)
		}
		if len(list.Items) == 0 || len(list.Items) != len(fromYAML.Items) || list.Items[0].ID != fromYAML.Items[0].ID {
			t.Fatalf("json %d providers, yaml %d", len(list.Items), len(fromYAML.Items))
		}
	})
}

// TestRoundTrip creates, lists, reads, changes and deletes integrations; the
// steps run in order and share what they created.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	env := h.env()
	var hook, mem contracts.Integration
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"create webhook", func(t *testing.T) {
			hook = create(t, env, "--name", "Prod hooks", "--provider", "webhook", "--endpoint", "https://hooks.example.com",
				"--label", "environment=production", "--label", "team=release", "--description", "release notices")
			if hook.TypeID != "webhook" || hook.Config["url"] != "https://hooks.example.com" || hook.Labels["team"] != "release" || hook.Description != "release notices" {
				t.Fatalf("created %+v", hook)
			}
		}},
		{"create inmemory with typed config", func(t *testing.T) {
			mem = create(t, env, "--name", "fake registry", "--provider", "InMemory", "--type", "registry",
				"--config", `repositories=["app-a","app-b"]`, "--config", "latencyMs=5", "--config", "failureMode=none")
			repos, _ := mem.Config["repositories"].([]any)
			if mem.TypeID != "inmemory" || len(repos) != 2 || mem.Config["latencyMs"] != float64(5) || mem.Config["failureMode"] != "none" {
				t.Fatalf("created %+v", mem)
			}
		}},
		{"create from a YAML config file", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hook.yaml")
			if err := os.WriteFile(path, []byte("url: https://file.example.com\nsignatureHeader: X-Sig\ntimeout: 20\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			it := create(t, env, "--name", "from file", "--provider", "webhook", "--config-file", path, "--config", "timeout=30")
			if it.Config["url"] != "https://file.example.com" || it.Config["signatureHeader"] != "X-Sig" || it.Config["timeout"] != float64(30) {
				t.Fatalf("config %v", it.Config)
			}
		}},
		{"list table", func(t *testing.T) {
			r := stella(t, env, "config", "integrations", "list")
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if r.code != 0 || len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "ID NAME PROVIDER CATEGORY HEALTH LABELS" {
				t.Fatalf("%s", r)
			}
			for _, want := range []string{hook.ID, "Prod hooks", "notification", "environment=production,team=release", mem.ID, "registry"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("list lacks %q:\n%s", want, r.stdout)
				}
			}
			// The columns line up: every row starts its NAME where the header does.
			col := strings.Index(lines[0], "NAME")
			for _, l := range lines[1:] {
				if l[col-2:col] != "  " || l[col] == ' ' {
					t.Errorf("row not aligned with the header:\n%s\n%s", lines[0], l)
				}
			}
		}},
		{"list filters", func(t *testing.T) {
			list := mustJSON[contracts.IntegrationList](t, stella(t, env, "config", "integrations", "list", "--type", "registry", "-o", "json"))
			if len(list.Items) != 1 || list.Items[0].ID != mem.ID {
				t.Fatalf("--type registry: %+v", list.Items)
			}
			list = mustJSON[contracts.IntegrationList](t, stella(t, env, "config", "integrations", "list", "--provider", "webhook", "--label-selector", "team=release", "-o", "json"))
			if len(list.Items) != 1 || list.Items[0].ID != hook.ID {
				t.Fatalf("--provider webhook --label-selector team=release: %+v", list.Items)
			}
			// Health changes as the scheduler checks: only check the filter holds.
			for _, health := range []string{"unknown", "healthy", "unhealthy"} {
				list = mustJSON[contracts.IntegrationList](t, stella(t, env, "config", "integrations", "list", "--health", health, "-o", "json"))
				for _, it := range list.Items {
					if string(it.HealthStatus) != health {
						t.Fatalf("--health %s listed %+v", health, it)
					}
				}
			}
		}},
		{"list pages", func(t *testing.T) {
			r := stella(t, env, "config", "integrations", "list", "--limit", "1", "-o", "json")
			page := mustJSON[contracts.IntegrationList](t, r)
			if len(page.Items) != 1 || page.NextCursor == "" {
				t.Fatalf("first page: %s", r)
			}
			next := mustJSON[contracts.IntegrationList](t, stella(t, env, "config", "integrations", "list", "--limit", "1", "--cursor", page.NextCursor, "-o", "json"))
			if len(next.Items) != 1 || next.Items[0].ID == page.Items[0].ID {
				t.Fatalf("second page: %+v", next)
			}
			all := mustJSON[contracts.IntegrationList](t, stella(t, env, "config", "integrations", "list", "--limit", "1", "--all", "-o", "json"))
			if len(all.Items) != 3 || all.NextCursor != "" {
				t.Fatalf("--all: %d items, cursor %q", len(all.Items), all.NextCursor)
			}
			r = stella(t, env, "config", "integrations", "list", "--limit", "1")
			if !strings.Contains(r.stderr, "--cursor "+page.NextCursor) {
				t.Fatalf("no hint of the next page: %s", r)
			}
		}},
		{"get json and yaml", func(t *testing.T) {
			got := mustJSON[contracts.Integration](t, stella(t, env, "config", "integrations", "get", hook.ID, "-o", "json"))
			if got.ID != hook.ID || got.Revision != hook.Revision {
				t.Fatalf("get %+v", got)
			}
			r := stella(t, env, "config", "integrations", "get", hook.ID, "-o", "yaml")
			var y map[string]any
			if err := yaml.Unmarshal([]byte(r.stdout), &y); err != nil || y["id"] != hook.ID || !strings.HasPrefix(r.stdout, "id: ") {
				t.Fatalf("yaml (%v): %s", err, r)
			}
		}},
		{"get table", func(t *testing.T) {
			r := stella(t, env, "config", "integrations", "get", hook.ID)
			for _, want := range []string{"ID:", hook.ID, "Category:", "notification", "url", "https://hooks.example.com", "Revision:"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("get lacks %q:\n%s", want, r)
				}
			}
		}},
		{"update patches with a fresh If-Match", func(t *testing.T) {
			r := stella(t, env, "config", "integrations", "update", hook.ID, "--name", "Prod hooks v2", "--label", "tier=1",
				"--remove-label", "team", "--config", "signatureHeader=X-Hub", "-o", "json")
			up := mustJSON[contracts.Integration](t, r)
			if up.Name != "Prod hooks v2" || up.Labels["tier"] != "1" || up.Labels["environment"] != "production" || up.Labels["team"] != "" ||
				up.Config["signatureHeader"] != "X-Hub" || up.Config["url"] != "https://hooks.example.com" || up.Revision <= hook.Revision {
				t.Fatalf("updated %+v", up)
			}
			hook = up
		}},
		{"update clears with empty values and null", func(t *testing.T) {
			up := mustJSON[contracts.Integration](t, stella(t, env, "config", "integrations", "update", hook.ID, "--description", "", "--config", "signatureHeader=null", "-o", "json"))
			if up.Description != "" || up.Config["signatureHeader"] != nil {
				t.Fatalf("updated %+v", up)
			}
			hook = up
		}},
		{"update with a stale --if-match is refused", func(t *testing.T) {
			r := stella(t, env, "config", "integrations", "update", hook.ID, "--name", "stale", "--if-match", "1")
			if r.code != cli.ExitInvalidInput || !strings.Contains(r.stderr, "PRECONDITION_FAILED") {
				t.Fatalf("%s", r)
			}
		}},
		{"delete", func(t *testing.T) {
			r := stella(t, env, "config", "integrations", "delete", hook.ID)
			if r.code != 0 || !strings.Contains(r.stdout, hook.ID+" deleted") {
				t.Fatalf("%s", r)
			}
		}},
		{"get after delete is not found", func(t *testing.T) {
			r := stella(t, env, "config", "integrations", "get", hook.ID)
			if r.code != cli.ExitNotFound || !strings.Contains(r.stderr, "INTEGRATION_NOT_FOUND") {
				t.Fatalf("%s", r)
			}
		}},
		{"delete json", func(t *testing.T) {
			got := mustJSON[map[string]any](t, stella(t, env, "config", "integrations", "delete", mem.ID, "-o", "json"))
			if got["id"] != mem.ID || got["deleted"] != true {
				t.Fatalf("%v", got)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.FailNow()
		}
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	hook := create(t, h.env(), "--name", "hooks", "--provider", "webhook", "--endpoint", "https://hooks.example.com")
	badFile := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badFile, []byte("- a list\n- not an object\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    func(string) string
		args   []string
		code   int
		stderr string // a part of stderr
	}{
		{"wrong token", h.env("STELLA_TOKEN=not-a-token"), []string{"config", "integrations", "list"}, cli.ExitUnauthorized, "UNAUTHORIZED: "},
		{"no token", h.env("STELLA_TOKEN="), []string{"config", "integrations", "providers"}, cli.ExitUnauthorized, "UNAUTHORIZED: "},
		{"another tenant's token cannot see it", h.env("STELLA_TOKEN=" + h.otherToken), []string{"config", "integrations", "get", hook.ID}, cli.ExitNotFound, "INTEGRATION_NOT_FOUND: "},
		{"unknown id", h.env(), []string{"config", "integrations", "get", "00000000-0000-4000-8000-0000000000aa"}, cli.ExitNotFound, "INTEGRATION_NOT_FOUND: "},
		{"unknown id on update", h.env(), []string{"config", "integrations", "update", "00000000-0000-4000-8000-0000000000aa", "--name", "x"}, cli.ExitNotFound, "INTEGRATION_NOT_FOUND: "},
		{"unknown id on delete", h.env(), []string{"config", "integrations", "delete", "00000000-0000-4000-8000-0000000000aa"}, cli.ExitNotFound, "INTEGRATION_NOT_FOUND: "},
		{"bad config field", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "webhook", "--endpoint", "https://x.example.com", "--config", "colour=blue"}, cli.ExitInvalidInput, "UNKNOWN_CONFIG_FIELD: "},
		{"wrong config type", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "webhook", "--endpoint", "https://x.example.com", "--config", "timeout=soon"}, cli.ExitInvalidInput, "INVALID_FIELD_TYPE: "},
		{"bad endpoint", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "webhook", "--endpoint", "ftp://x"}, cli.ExitInvalidInput, "INVALID_URL: "},
		{"bad authref", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "webhook", "--endpoint", "https://x.example.com", "--authref", "hunter2"}, cli.ExitInvalidInput, "INVALID_CREDENTIAL_REF: "},
		{"unknown provider", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "ftp"}, cli.ExitInvalidInput, "UNKNOWN_PROVIDER: "},
		{"type mismatch", h.env(), []string{"config", "integrations", "create", "--name", "x", "--type", "scm", "--provider", "webhook", "--endpoint", "https://x.example.com"}, cli.ExitInvalidInput, "--type scm does not match --provider webhook: webhook is a notification provider"},
		{"bad label selector", h.env(), []string{"config", "integrations", "list", "--label-selector", "a b"}, cli.ExitInvalidInput, "INVALID_LABEL_SELECTOR: "},
		{"bad health", h.env(), []string{"config", "integrations", "list", "--health", "sickly"}, cli.ExitInvalidInput, ""},
		{"unreachable server", h.env("STELLA_SERVER=http://" + closedAddr(t)), []string{"config", "integrations", "list"}, cli.ExitUnreachable, "cannot reach"},
		{"unreachable server on create", h.env("STELLA_SERVER=http://" + closedAddr(t)), []string{"config", "integrations", "create", "--name", "x", "--type", "notification", "--provider", "webhook"}, cli.ExitUnreachable, "cannot reach"},
		{"unresolvable server", h.env("STELLA_SERVER=http://no-such-host.invalid"), []string{"config", "integrations", "list"}, cli.ExitUnreachable, "cannot reach"},
		{"missing --name", h.env(), []string{"config", "integrations", "create", "--provider", "webhook"}, cli.ExitInvalidInput, `"name" not set`},
		{"label without =", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "webhook", "--label", "team"}, cli.ExitInvalidInput, "--label takes key=value"},
		{"config without =", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "webhook", "--config", "cfg.yaml"}, cli.ExitInvalidInput, "STELLA_CONFIG"},
		{"config file not an object", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "webhook", "--config-file", badFile}, cli.ExitInvalidInput, "--config-file"},
		{"missing config file", h.env(), []string{"config", "integrations", "create", "--name", "x", "--provider", "webhook", "--config-file", "/nonexistent.yaml"}, cli.ExitInvalidInput, "--config-file"},
		{"nothing to update", h.env(), []string{"config", "integrations", "update", hook.ID}, cli.ExitInvalidInput, "nothing to update"},
		{"get without id", h.env(), []string{"config", "integrations", "get"}, cli.ExitInvalidInput, "needs the integration id"},
		{"unknown command", h.env(), []string{"config", "integrations", "lst"}, cli.ExitInvalidInput, `unknown command "lst"`},
		{"unknown flag", h.env(), []string{"config", "integrations", "list", "--colour"}, cli.ExitInvalidInput, "unknown flag: --colour"},
		{"bad output format", h.env(), []string{"config", "integrations", "list", "-o", "xml"}, cli.ExitInvalidInput, "--output must be table, wide, json or yaml"},
		{"bad --limit", h.env(), []string{"config", "integrations", "list", "--limit", "0"}, cli.ExitInvalidInput, "--limit"},
		{"bad server URL", h.env("STELLA_SERVER=ftp://x"), []string{"config", "integrations", "list"}, cli.ExitInvalidInput, "not an http or https URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := stella(t, tc.env, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) || !strings.HasPrefix(r.stderr, "error: ") {
				t.Fatalf("want exit %d and stderr with %q, got %s", tc.code, tc.stderr, r)
			}
			if r.stdout != "" {
				t.Fatalf("stdout on error: %s", r)
			}
			if strings.Contains(r.stderr, h.token) {
				t.Fatal("the token is printed")
			}
		})
	}
}

func TestDeprecatedAlias(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	hook := create(t, h.env(), "--name", "hooks", "--provider", "webhook", "--endpoint", "https://hooks.example.com", "--label", "a=b")
	tests := []struct {
		name string
		args []string
	}{
		{"list", []string{"list"}},
		{"list json", []string{"list", "-o", "json"}},
		{"providers", []string{"providers"}},
		{"get", []string{"get", hook.ID, "-o", "yaml"}},
		{"update", []string{"update", hook.ID, "--label", "c=d", "-o", "json"}},
		{"create with a type mismatch", []string{"create", "--name", "x", "--type", "scm", "--provider", "webhook"}},
		{"unknown id", []string{"get", "00000000-0000-4000-8000-0000000000aa"}},
		{"flags before the command", []string{"--output", "json", "list"}},
		{"help", []string{"list", "--help"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: update changes what the next case reads.
			canonicalArgs := append([]string{"config", "integrations"}, tc.args...)
			aliasArgs := append([]string{"integrations"}, tc.args...)
			if tc.name == "flags before the command" {
				canonicalArgs = []string{"--output", "json", "config", "integrations", "list"}
				aliasArgs = []string{"--output", "json", "integrations", "list"}
			}
			if tc.name == "update" {
				// Each run bumps the revision and updatedAt; compare the rest.
				want, got := stella(t, h.env(), canonicalArgs...), stella(t, h.env(), aliasArgs...)
				checkNotice(t, want, got)
				a, b := mustJSON[contracts.Integration](t, want), mustJSON[contracts.Integration](t, got)
				if a.Labels["c"] != b.Labels["c"] || a.Name != b.Name || want.code != got.code {
					t.Fatalf("canonical %s\nalias %s", want, got)
				}
				return
			}
			want, got := sameState(t, h.env(), canonicalArgs, aliasArgs)
			checkNotice(t, want, got)
			got.stderr = strings.TrimPrefix(got.stderr, deprecationNotice)
			if tc.name == "help" {
				got.stdout = strings.ReplaceAll(got.stdout, "stella integrations", "stella config integrations")
			}
			if want != got {
				t.Fatalf("alias behaves differently:\ncanonical %s\nalias %s", want, got)
			}
		})
	}
	t.Run("list prints exactly one notice line and the same stdout", func(t *testing.T) {
		canonical, alias := sameState(t, h.env(), []string{"config", "integrations", "list"}, []string{"integrations", "list"})
		if alias.stderr != deprecationNotice || canonical.stderr != "" || alias.stdout != canonical.stdout || alias.code != 0 {
			t.Fatalf("canonical %s\nalias %s", canonical, alias)
		}
	})
}

const deprecationNotice = "stella integrations is deprecated; use stella config integrations\n"

// sameState runs the canonical command, the alias, and the canonical command
// again, until the two canonical runs agree: the health scheduler may change
// an integration's health between runs.
func sameState(t *testing.T, env func(string) string, canonicalArgs, aliasArgs []string) (canonical, alias result) {
	t.Helper()
	for range 10 {
		canonical = stella(t, env, canonicalArgs...)
		alias = stella(t, env, aliasArgs...)
		if again := stella(t, env, canonicalArgs...); again == canonical {
			return canonical, alias
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%v never gave the same answer twice", canonicalArgs)
	return
}

// checkNotice: the alias starts stderr with the one notice, the canonical
// command never prints it.
func checkNotice(t *testing.T, canonical, alias result) {
	t.Helper()
	if !strings.HasPrefix(alias.stderr, deprecationNotice) || strings.Count(alias.stderr, "deprecated") != 1 {
		t.Fatalf("alias stderr should start with the one notice: %q", alias.stderr)
	}
	if strings.Contains(canonical.stderr, "deprecated") {
		t.Fatalf("canonical command printed the notice: %q", canonical.stderr)
	}
}

func TestSettingsPrecedence(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(good, "server: "+h.server+"\ntoken: "+h.token+"\n")
	badToken := filepath.Join(dir, "bad-token.yaml")
	write(badToken, "server: "+h.server+"\ntoken: wrong\n")
	typo := filepath.Join(dir, "typo.yaml")
	write(typo, "sever: "+h.server+"\n")
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".config", "stella"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(home, ".config", "stella", "config.yaml"), "server: "+h.server+"\ntoken: "+h.token+"\n")
	closed := "http://" + closedAddr(t)
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for _, p := range kv {
			k, v, _ := strings.Cut(p, "=")
			m[k] = v
		}
		return func(k string) string { return m[k] }
	}
	list := []string{"config", "integrations", "list"}
	tests := []struct {
		name  string
		env   func(string) string
		flags []string
		code  int
	}{
		{"--config file alone", env(), []string{"--config", good}, cli.ExitOK},
		{"STELLA_CONFIG file alone", env("STELLA_CONFIG=" + good), nil, cli.ExitOK},
		{"default file under HOME", env("HOME=" + home), nil, cli.ExitOK},
		{"default file under XDG_CONFIG_HOME", env("XDG_CONFIG_HOME=" + filepath.Join(home, ".config")), nil, cli.ExitOK},
		{"env token beats the file", env("STELLA_TOKEN=wrong"), []string{"--config", good}, cli.ExitUnauthorized},
		{"env server beats the file", env("STELLA_SERVER=" + closed), []string{"--config", good}, cli.ExitUnreachable},
		{"flag token beats env and file", env("STELLA_TOKEN=wrong"), []string{"--config", badToken, "--token", h.token}, cli.ExitOK},
		{"flag server beats env", env("STELLA_SERVER="+closed, "STELLA_TOKEN="+h.token), []string{"--server", h.server}, cli.ExitOK},
		{"--config beats STELLA_CONFIG", env("STELLA_CONFIG=" + badToken), []string{"--config", good}, cli.ExitOK},
		{"default server when nothing is set", env("STELLA_TOKEN=" + h.token), []string{"--timeout", "2s"}, -1},
		{"missing --config file", env(), []string{"--config", filepath.Join(dir, "none.yaml")}, cli.ExitInvalidInput},
		{"unknown key in the file", env(), []string{"--config", typo}, cli.ExitInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := stella(t, tc.env, append(append([]string{}, list...), tc.flags...)...)
			if tc.code == -1 {
				// Nothing listens on localhost:8080 in a test, or something
				// else does: either way the request went there.
				if r.code == cli.ExitOK || r.code == cli.ExitInvalidInput {
					t.Fatalf("default server: %s", r)
				}
				if r.code == cli.ExitUnreachable && !strings.Contains(r.stderr, "http://localhost:8080") {
					t.Fatalf("default server: %s", r)
				}
				return
			}
			if r.code != tc.code {
				t.Fatalf("want exit %d, got %s", tc.code, r)
			}
		})
	}
}

func TestHelpVersionCompletion(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "" }
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"root help documents precedence and exit codes", []string{"--help"}, []string{"STELLA_SERVER", "STELLA_TOKEN", "~/.config/stella/config.yaml", "http://localhost:8080", "Exit codes", "5  server unreachable"}},
		{"create help shows the documented example", []string{"config", "integrations", "create", "--help"}, []string{"--provider gitlabserver --endpoint http://gitlab.stella-ops.local:8929 --authref authref://vault/gitlab#access-token", "--config-file", "--label"}},
		{"discover help", []string{"config", "integrations", "discover", "--help"}, []string{"--resource-type", "--name-pattern", "--repository", "--limit", "--refresh", "--all"}},
		{"group without a subcommand shows help", []string{"config", "integrations"}, []string{"providers", "discover"}},
		{"version", []string{"version"}, []string{"stella " + cli.Version}},
		{"version json", []string{"version", "-o", "json"}, []string{`"version": "` + cli.Version + `"`}},
		{"bash completion", []string{"completion", "bash"}, []string{"bash completion"}},
		{"zsh completion", []string{"completion", "zsh"}, []string{"#compdef stella"}},
		{"fish completion", []string{"completion", "fish"}, []string{"complete -c stella"}},
		{"flag completion", []string{"__complete", "config", "integrations", "list", "--health", ""}, []string{"unhealthy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := stella(t, env, tc.args...)
			if r.code != 0 {
				t.Fatalf("%s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}
