package devstack_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"

	"github.com/stella-ops/inthub/services/devstack"
)

// TestComposeNamesOnlyRealServices parses docker-compose.yml and checks
// that every hub service it builds exists as services/<name>/cmd/<name>,
// and that every such service is in the file.
func TestComposeNamesOnlyRealServices(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	doc := readCompose(t)
	for _, infra := range []string{"nats", "redis"} {
		if doc.Services[infra].Image == "" {
			t.Errorf("compose lacks the %s service", infra)
		}
	}
	built := map[string]bool{}
	for name, svc := range doc.Services {
		if svc.Image != "" {
			continue
		}
		arg := svc.Build.Args["SERVICE"]
		if arg != name {
			t.Errorf("compose service %s builds SERVICE=%q", name, arg)
		}
		if _, err := os.Stat(filepath.Join(root, "services", arg, "cmd", arg, "main.go")); err != nil {
			t.Errorf("compose service %s names no services/%s/cmd/%s: %v", name, arg, arg, err)
		}
		if _, err := os.Stat(filepath.Join(root, svc.Build.Dockerfile)); err != nil {
			t.Errorf("compose service %s: dockerfile %s: %v", name, svc.Build.Dockerfile, err)
		}
		built[name] = true
	}
	for _, a := range devstack.Accesses() {
		if !built[a.Service] {
			t.Errorf("compose lacks the %s service", a.Service)
		}
	}
}

// compose is what the tests read of docker-compose.yml.
type compose struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Build   struct {
			Dockerfile string            `yaml:"dockerfile"`
			Args       map[string]string `yaml:"args"`
		} `yaml:"build"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) compose {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc compose
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return doc
}

// TestComposeNATSEnforcesTheShippedUsers checks that docker-compose.yml's
// NATS runs with deployments/nats/auth.conf, each user's password coming
// from the environment compose is given (never from the file), and that
// every service connects as its own user with its own password.
func TestComposeNATSEnforcesTheShippedUsers(t *testing.T) {
	doc := readCompose(t)
	nats := doc.Services["nats"]
	if !slices.Contains(nats.Command, "/etc/nats/nats-auth.conf") {
		t.Fatalf("compose's nats runs %v, not /etc/nats/nats-auth.conf", nats.Command)
	}
	for _, f := range []string{"nats.conf", "auth.conf", "nats-auth.conf"} {
		if !slices.Contains(nats.Volumes, "./deployments/nats/"+f+":/etc/nats/"+f+":ro") {
			t.Errorf("compose's nats does not mount deployments/nats/%s", f)
		}
	}
	fromEnv := func(v string) string { return "${" + v + ":?run scripts/compose-env.sh first}" }
	users := []string{devstack.AdminUser}
	for _, a := range devstack.Accesses() {
		users = append(users, a.Service)
		env := doc.Services[a.Service].Environment
		if env["INTHUB_NATS_USER"] != a.Service || env["INTHUB_NATS_PASSWORD"] != fromEnv(devstack.PasswordVar(a.Service)) {
			t.Errorf("compose's %s connects as %q with password %q, want its own user and %s",
				a.Service, env["INTHUB_NATS_USER"], env["INTHUB_NATS_PASSWORD"], fromEnv(devstack.PasswordVar(a.Service)))
		}
	}
	for _, u := range users {
		if nats.Environment[devstack.PasswordVar(u)] != fromEnv(devstack.PasswordVar(u)) {
			t.Errorf("compose's nats does not take %s from the environment", devstack.PasswordVar(u))
		}
		t.Setenv(devstack.PasswordVar(u), "password-of-"+u)
	}
	// The server accepts the file compose runs, with every user in it.
	opts, err := server.ProcessConfigFile(filepath.Join("..", "..", "deployments", "nats", "nats-auth.conf"))
	if err != nil {
		t.Fatalf("nats-server refuses deployments/nats/nats-auth.conf: %v", err)
	}
	have := map[string]string{}
	for _, u := range opts.Users {
		have[u.Username] = u.Password
	}
	for _, u := range users {
		if have[u] != "password-of-"+u {
			t.Errorf("nats-auth.conf gives user %s password %q, want the environment's", u, have[u])
		}
	}
	if !opts.JetStream {
		t.Error("nats-auth.conf lost nats.conf's JetStream block")
	}
}
