package testsvc

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// PrometheusBinary is Debian's build of Prometheus.
const PrometheusBinary = "/usr/bin/prometheus"

// PromtoolBinary is Prometheus's tool, in the same Debian package; it
// backfills PrometheusOptions.OpenMetrics.
const PromtoolBinary = "/usr/bin/promtool"

// PrometheusOptions configures StartPrometheus.
type PrometheusOptions struct {
	// Users turns on basic auth (--web.config.file basic_auth_users) with
	// these user -> password pairs.
	Users map[string]string
	// Targets are host:port addresses scraped (/metrics) as job "target"
	// every ScrapeInterval (1s when zero), e.g. a MetricsTarget's Addr.
	Targets []string
	// ScrapeInterval is how often Targets are scraped.
	ScrapeInterval time.Duration
	// OpenMetrics, when set, is OpenMetrics text (timestamps in seconds,
	// ending "# EOF") written into the TSDB with `promtool tsdb
	// create-blocks-from openmetrics` before the first start: data at
	// times the test chooses, past ones included, as if scraped then.
	OpenMetrics string
}

// Prometheus is a running Prometheus server.
type Prometheus struct {
	*Server
	users       map[string]string
	targets     []string
	interval    time.Duration
	openMetrics string
	backfilled  bool
}

// StartPrometheus runs Prometheus with its TSDB in a temporary directory on
// a free loopback port until t ends. It scrapes opts.Targets (nothing by
// default: tests then query expressions such as vector(1) that need no
// data).
func StartPrometheus(t testing.TB, opts PrometheusOptions) *Prometheus {
	t.Helper()
	p := &Prometheus{users: opts.Users, targets: opts.Targets, interval: opts.ScrapeInterval, openMetrics: opts.OpenMetrics}
	if p.interval <= 0 {
		p.interval = time.Second
	}
	if p.openMetrics != "" {
		requireBinary(t, PromtoolBinary, "prometheus")
	}
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
	yml := "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n"
	if len(p.targets) > 0 {
		yml += fmt.Sprintf("scrape_configs:\n  - job_name: target\n    scrape_interval: %s\n    static_configs:\n      - targets: [%s]\n",
			p.interval, quotedList(p.targets))
	}
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		return nil, err
	}
	if err := p.backfill(dir); err != nil {
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

// backfill writes the OpenMetrics text into the TSDB of dir once (a start
// retried on another port keeps the blocks already written).
func (p *Prometheus) backfill(dir string) error {
	if p.openMetrics == "" || p.backfilled {
		return nil
	}
	in := filepath.Join(dir, "backfill.om")
	if err := os.WriteFile(in, []byte(p.openMetrics), 0o600); err != nil {
		return err
	}
	out, err := exec.Command(PromtoolBinary, "tsdb", "create-blocks-from", "openmetrics", in, filepath.Join(dir, "data")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("promtool tsdb create-blocks-from openmetrics: %w: %s", err, out)
	}
	p.backfilled = true
	return nil
}

// quotedList writes ss as the items of a YAML flow sequence.
func quotedList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}
