package testsvc

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// PrometheusBinary is Debian's build of Prometheus.
const PrometheusBinary = "/usr/bin/prometheus"

// PrometheusOptions configures StartPrometheus.
type PrometheusOptions struct {
	// Users turns on basic auth (--web.config.file basic_auth_users) with
	// these user -> password pairs.
	Users map[string]string
}

// Prometheus is a running Prometheus server.
type Prometheus struct {
	*Server
	users map[string]string
}

// StartPrometheus runs Prometheus with its TSDB in a temporary directory on
// a free loopback port until t ends. It scrapes nothing: tests query
// expressions such as vector(1) that need no data.
func StartPrometheus(t testing.TB, opts PrometheusOptions) *Prometheus {
	t.Helper()
	p := &Prometheus{users: opts.Users}
	user, password := p.firstUser()
	p.Server = start(t, serverSpec{
		name: "prometheus", bin: PrometheusBinary, install: "prometheus",
		configure: p.configure,
		ready: func(ctx context.Context, base string) bool {
			return probe(ctx, base+"/-/ready", user, password) == http.StatusOK
		},
	})
	return p
}

func (p *Prometheus) firstUser() (string, string) {
	if users := sortedUsers(p.users); len(users) > 0 {
		return users[0], p.users[users[0]]
	}
	return "", ""
}

// configure writes prometheus.yml (and web.yml with the users) into dir.
func (p *Prometheus) configure(dir string, port int) ([]string, error) {
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n"), 0o600); err != nil {
		return nil, err
	}
	args := []string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--log.level=warn",
	}
	if len(p.users) > 0 {
		var b strings.Builder
		b.WriteString("basic_auth_users:\n")
		for _, u := range sortedUsers(p.users) {
			// The lowest cost: Prometheus checks the hash on every request.
			hash, err := bcrypt.GenerateFromPassword([]byte(p.users[u]), bcrypt.MinCost)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "  %s: %s\n", quote(u), quote(string(hash)))
		}
		web := filepath.Join(dir, "web.yml")
		if err := os.WriteFile(web, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--web.config.file="+web)
	}
	return args, nil
}
