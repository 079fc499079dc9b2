package devstack_test

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestComposeNamesOnlyRealServices parses docker-compose.yml and checks
// that every hub service it builds exists as services/<name>/cmd/<name>,
// and that every such service is in the file.
func TestComposeNamesOnlyRealServices(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
			Build struct {
				Dockerfile string            `yaml:"dockerfile"`
				Args       map[string]string `yaml:"args"`
			} `yaml:"build"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
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
	for _, want := range []string{"ingress", "manager", "health-scheduler", "discovery-worker", "notifier"} {
		if !built[want] {
			t.Errorf("compose lacks the %s service", want)
		}
	}
}
