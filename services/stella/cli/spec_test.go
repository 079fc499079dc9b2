package cli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/services/stella/cli"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestSpecLines runs the documented command lines of the CLI (its reference
// surface: providers, create, list, test, discover, …)
// verbatim, <integration-id> replaced by an integration the test created.
// Lines that need other engineers' work skip while the hub lacks it.
func TestSpecLines(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	env := h.env()
	// Integrations the spec lines act on, made before the lines that need them.
	ids := map[string]string{}
	mem := create(t, env, "--name", "fake registry", "--provider", "inmemory", "--config", `repositories=["app-a","app-b","app-c"]`)
	ids["inmemory"] = mem.ID
	// The documented gitlab line names its token authref://vault/...: a
	// reference is saved only if its store is a secret store of the tenant.
	create(t, env, "--name", "vault", "--provider", "hashicorp-vault", "--endpoint", "http://"+closedAddr(t), "--config", "mountPath=secret",
		"--authref", "env://"+h.localPrefix+"VAULT")

	tests := []struct {
		name  string
		line  string
		needs []string
		// codes are the acceptable exit codes (several where the outcome
		// depends on a system outside the test, e.g. a GitLab that is absent).
		codes  []int
		stdout []string
		after  func(t *testing.T, r result)
	}{
		{name: "providers", line: "stella config integrations providers", codes: []int{0}, stdout: []string{"webhook"}},
		{name: "list", line: "stella config integrations list", codes: []int{0}, stdout: []string{"ID", mem.ID}},
		{
			name: "create gitlab", needs: []string{needGitLab}, codes: []int{0},
			line:   "stella config integrations create --name local-gitlab --type scm --provider gitlabserver --endpoint http://gitlab.stella-ops.local:8929 --authref authref://vault/gitlab#access-token",
			stdout: []string{"local-gitlab", "scm", "authref://vault/gitlab#access-token", "http://gitlab.stella-ops.local:8929"},
			after: func(t *testing.T, r result) {
				ids["gitlab"] = field(r.stdout, "ID:")
			},
		},
		{
			name: "create minio", needs: []string{needS3}, codes: []int{0},
			line:   "stella config integrations create --name local-minio --type objectstorage --provider s3compatible --endpoint http://minio.stella-ops.local:9000",
			stdout: []string{"local-minio", "objectstorage", "http://minio.stella-ops.local:9000"},
		},
		{
			name: "test", needs: []string{needTest}, codes: []int{0},
			line:   "stella config integrations test <inmemory>",
			stdout: []string{"connectivity", "authentication", "functionality", "passed"},
		},
		{
			// GitLab is not there in a test: the hub reaches the connector,
			// which answers with items (0) or an upstream error (1).
			name: "discover projects of gitlab", needs: []string{needGitLab, needDiscover}, codes: []int{0, 1},
			line: "stella config integrations discover <gitlab> --resource-type projects",
		},
		{
			name: "discover projects of a registry is refused with the supported types", needs: []string{needDiscover}, codes: []int{cli.ExitInvalidInput},
			line: "stella config integrations discover <inmemory> --resource-type projects",
			after: func(t *testing.T, r result) {
				if !strings.Contains(r.stderr, "UNSUPPORTED_RESOURCE_TYPE") || !strings.Contains(r.stderr, "repositories") {
					t.Fatalf("%s", r)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.require(t, tc.needs...)
			args := strings.Fields(tc.line)[1:]
			for i, a := range args {
				if strings.HasPrefix(a, "<") {
					id := ids[strings.Trim(a, "<>")]
					if id == "" {
						t.Fatalf("no integration %s: an earlier line failed", a)
					}
					args[i] = id
				}
			}
			r := stella(t, env, args...)
			if !slices.Contains(tc.codes, r.code) {
				t.Fatalf("want exit in %v, got %s", tc.codes, r)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q: %s", w, r)
				}
			}
			if tc.after != nil {
				tc.after(t, r)
			}
		})
	}
}

// TestTestAndDiscover runs test and discover against the inmemory provider,
// whose failures the test chooses.
func TestTestAndDiscover(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	env := h.env()
	ok := create(t, env, "--name", "ok", "--provider", "inmemory", "--config", `repositories=["app-a","app-b","other"]`)
	refused := create(t, env, "--name", "refused", "--provider", "inmemory", "--config", "failureMode=connection-refused")
	authFailed := create(t, env, "--name", "auth", "--provider", "inmemory", "--config", "failureMode=auth-failed")
	tests := []struct {
		name   string
		needs  []string
		args   []string
		code   int
		stdout []string
		stderr string
		check  func(t *testing.T, r result)
	}{
		{name: "test passes", needs: []string{needTest}, args: []string{"test", ok.ID}, code: 0,
			stdout: []string{"CHECK", "STATUS", "LATENCY", "ERROR", "connectivity", "passed"}},
		{name: "test json", needs: []string{needTest}, args: []string{"test", ok.ID, "-o", "json"}, code: 0,
			check: func(t *testing.T, r result) {
				res := mustJSON[contracts.TestResponse](t, r)
				if !res.Success || res.Data.FunctionalityTest.Status != "passed" {
					t.Fatalf("%+v", res)
				}
			}},
		{name: "test fails at connectivity", needs: []string{needTest}, args: []string{"test", refused.ID}, code: cli.ExitError,
			stdout: []string{"failed", "CONNECTION_REFUSED", "skipped"}, stderr: "integration test failed at connectivity"},
		{name: "test fails at authentication", needs: []string{needTest}, args: []string{"test", authFailed.ID}, code: cli.ExitError,
			stdout: []string{"AUTHENTICATION_FAILED"}, stderr: "integration test failed at authentication"},
		{name: "test of an unknown id", needs: []string{needTest}, args: []string{"test", "00000000-0000-4000-8000-0000000000aa"}, code: cli.ExitNotFound,
			stderr: "INTEGRATION_NOT_FOUND"},
		{name: "discover repositories", needs: []string{needDiscover}, args: []string{"discover", ok.ID, "--resource-type", "repositories"}, code: 0,
			stdout: []string{"NAME", "app-a", "app-b", "other"}},
		{name: "discover with a name pattern", needs: []string{needDiscover}, args: []string{"discover", ok.ID, "--resource-type", "repositories", "--name-pattern", "app-*", "--refresh", "-o", "json"}, code: 0,
			check: func(t *testing.T, r result) {
				res := mustJSON[contracts.DiscoveryResult](t, r)
				if len(res.Items) != 2 || res.CacheHit {
					t.Fatalf("%+v", res)
				}
			}},
		{name: "discover every page", needs: []string{needDiscover}, args: []string{"discover", ok.ID, "--resource-type", "repositories", "--limit", "1", "--all", "-o", "json"}, code: 0,
			check: func(t *testing.T, r result) {
				res := mustJSON[contracts.DiscoveryResult](t, r)
				if len(res.Items) != 3 || res.NextCursor != "" {
					t.Fatalf("%+v", res)
				}
				if r.stderr != "" {
					t.Fatalf("progress on a stderr that is not a terminal: %q", r.stderr)
				}
			}},
		{name: "discover one page hints at the next", needs: []string{needDiscover}, args: []string{"discover", ok.ID, "--resource-type", "repositories", "--limit", "1"}, code: 0,
			stderr: "--cursor"},
		{name: "discover tags of a repository", needs: []string{needDiscover}, args: []string{"discover", ok.ID, "--resource-type", "tags", "--repository", "app-a", "-o", "yaml"}, code: 0,
			stdout: []string{"resourceType: tags"}},
		{name: "discover needs a resource type", args: []string{"discover", ok.ID}, code: cli.ExitInvalidInput, stderr: `"resource-type" not set`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h.require(t, tc.needs...)
			r := stella(t, env, append([]string{"config", "integrations"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("want exit %d and stderr with %q, got %s", tc.code, tc.stderr, r)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q: %s", w, r)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// field returns the value of a "Key:  value" line of a detail table.
func field(out, key string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, key) {
			return strings.TrimSpace(strings.TrimPrefix(l, key))
		}
	}
	return ""
}
