package devstack_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// The monitoring the hub ships: deployments/prometheus/alerts.yaml (and
// its promtool unit tests) and deployments/grafana/inthub.json.
var (
	alertsFile     = filepath.Join("..", "..", "deployments", "prometheus", "alerts.yaml")
	alertTestsFile = filepath.Join("..", "..", "deployments", "prometheus", "alerts_test.yaml")
	dashboardFile  = filepath.Join("..", "..", "deployments", "grafana", "inthub.json")
)

// promtool is Debian prometheus's (scripts/test-deps.sh installs it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (scripts/test-deps.sh does)")
	}
	return p
}

// The alert rules load (promtool check rules) and every alert passes its
// unit tests (promtool test rules); every alert of the file has a test.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", alertsFile}, {"test", "rules", alertTestsFile}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(alertTestsFile)
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\S+)`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 6 {
		t.Fatalf("%d alerts, want at least the six of issue 17", len(alerts))
	}
	for _, a := range alerts {
		if !regexp.MustCompile(`alertname: ` + a[1] + `\n\s+exp_alerts:\n\s+- exp_labels`).Match(tests) {
			t.Errorf("alert %s has no unit test in which it fires", a[1])
		}
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// The dashboard is importable and every query parses: panels have unique
// ids, sit on the 24-column grid, use the datasource variable, and each
// query (with the template variables filled in) is valid PromQL, which
// promtool proves by loading them as recording rules.
func TestDashboard(t *testing.T) {
	t.Parallel()
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Fatalf("dashboard without uid or title")
	}
	ids := map[int]bool{}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	sections := map[string]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
			t.Errorf("panel %q off the grid: %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			sections[p.Title] = true
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %v, %d queries; want the datasource variable and a query", p.Title, p.Datasource, len(p.Targets))
		}
		for _, q := range p.Targets {
			expr := strings.ReplaceAll(q.Expr, "$consumer", "health-checks")
			fmt.Fprintf(&rules, "      - record: panel_%d_%s\n        expr: %q\n", p.ID, q.RefID, expr)
		}
	}
	for _, want := range []string{"Bus (NATS JetStream)", "Consumer lag per worker", "Health checks", "Discovery", "Notifier"} {
		if !sections[want] {
			t.Errorf("the dashboard has no %q row", want)
		}
	}
	file := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool(t), "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("a dashboard query is not valid PromQL: %v\n%s", err, out)
	}
}

// hubMetric finds the hub's metric names in a query or rule.
var hubMetric = regexp.MustCompile(`\binthub_[a-z0-9_]+`)

// usedMetrics are the metric families the dashboard and the alerts name
// (a histogram's _bucket, _sum and _count are its family's).
func usedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(where, text string) {
		for _, m := range hubMetric.FindAllString(text, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				m = strings.TrimSuffix(m, suffix)
			}
			if !slices.Contains(used[m], where) {
				used[m] = append(used[m], where)
			}
		}
	}
	for _, p := range loadDashboard(t).Panels {
		for _, q := range p.Targets {
			add("dashboard panel "+p.Title, q.Expr)
		}
	}
	rules, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(rules)))
	alert := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "- alert: "); ok {
			alert = name
		}
		if expr, ok := strings.CutPrefix(line, "expr: "); ok {
			add("alert "+alert, expr)
		}
	}
	return used
}

// Every metric the dashboard and the alerts name is exported by a running
// stack: its metrics listener is scraped after some activity (an
// integration checked, tested and discovered, a notification rule saved)
// and every family must be there. A name on a dashboard or in an alert that
// no service exports would draw nothing and never fire.
func TestDashboardAndAlertMetricsAreExported(t *testing.T) {
	t.Parallel()
	used := usedMetrics(t)
	if len(used) < 20 {
		t.Fatalf("only %d metric names found in the dashboard and the alerts", len(used))
	}
	s := startDiscoveryStack(t, "")
	token := s.info.Token
	mem := s.createIntegration("inmemory", map[string]any{"repositories": []string{"app-a"}})
	if r := s.call("POST", "/api/v1/integrations/"+mem.ID+"/test", token, nil); r.status != http.StatusOK {
		t.Fatalf("test: %d %s", r.status, r.body)
	}
	if r := s.call("POST", "/api/v1/integrations/"+mem.ID+"/discover", token, map[string]any{"resourceType": "repositories"}); r.status != http.StatusOK {
		t.Fatalf("discover: %d %s", r.status, r.body)
	}
	hook := s.createIntegration("webhook", map[string]any{"url": "https://hooks.example.com/inthub"})
	rule := map[string]any{"name": "health", "match": map[string]any{"eventTypes": []string{contracts.SubjectHealthChanged}},
		"targets": []map[string]any{{"integrationId": hook.ID}}}
	if r := s.call("POST", "/api/v1/notification-rules", token, rule); r.status != http.StatusCreated {
		t.Fatalf("rule: %d %s", r.status, r.body)
	}
	// The test and the check the catalog change scheduled give the
	// health-scheduler a circuit breaker: wait for its series.
	exported := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for {
		clear(exported)
		for _, line := range strings.Split(s.scrape(), "\n") {
			if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
				exported[strings.Fields(rest)[0]] = true
			}
		}
		var missing []string
		for name := range used {
			if !exported[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			slices.Sort(missing)
			for _, m := range missing {
				t.Errorf("%s is used by %s but the running stack does not export it", m, strings.Join(used[m], ", "))
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
