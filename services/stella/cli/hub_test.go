package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/services/stella/cli"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// tenantCount is how many tenants the test hub knows: each test takes its
// own, so tests that count integrations run in parallel on one hub.
const tenantCount = 26

// testHub is the package's one devstack (STYLE: embedded JetStream per test
// package), started by TestMain.
var testHub struct {
	server  string
	tokens  []string
	devInfo devstack.Info
	next    atomic.Int32
	// operatorToken holds the operator role (events and dlq commands).
	operatorToken string
}

// operatorTenant is the operator token's tenant.
const operatorTenant = "0193a0b4-0000-7000-8000-0000000000ff"

func TestMain(m *testing.M) { os.Exit(runWithHub(m)) }

// runWithHub runs a real devstack on a free port with its own data folder
// around the tests.
func runWithHub(m *testing.M) int {
	dir, err := os.MkdirTemp("", "stella-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	var extra []ingress.TokenEntry
	var grants []string // tenant i may use the local secrets INTHUB_SECRET_T<i>_*
	for i := range tenantCount {
		grants = append(grants, fmt.Sprintf("0193a0b4-0000-7000-8000-%012d=T%02d", i+1, i))
		token := fmt.Sprintf("token-of-test-tenant-%02d-0123456789abcdef", i)
		testHub.tokens = append(testHub.tokens, token)
		extra = append(extra, ingress.TokenEntry{
			Principal: ingress.Principal{Name: fmt.Sprintf("tenant-%02d", i), TenantID: fmt.Sprintf("0193a0b4-0000-7000-8000-%012d", i+1)},
			SHA256:    ingress.HashToken(token),
		})
	}
	testHub.operatorToken = "token-of-the-test-operator-0123456789abcdef"
	extra = append(extra, ingress.TokenEntry{
		Principal: ingress.Principal{Name: "operator", TenantID: operatorTenant, Roles: []string{ingress.RoleOperator}},
		SHA256:    ingress.HashToken(testHub.operatorToken),
	})
	policy, err := credentials.ParseLocalPolicy(strings.Join(grants, ","), "", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Every local secret a test names has this one value, unless the test
	// set its own (testSecrets).
	local := credentials.LocalResolver{Policy: policy, LookupEnv: func(name string) (string, bool) {
		if v, ok := testSecrets.Load(name); ok {
			return v.(string), true
		}
		return "s.test-local-secret", true
	}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan devstack.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- devstack.Run(ctx, devstack.Config{
			DataDir: dir, Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), Ready: ready, ExtraTokens: extra, Local: &local,
			// The metrics tests' Prometheus listens on loopback.
			Policy: httpx.GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		})
	}()
	select {
	case testHub.devInfo = <-ready:
	case err := <-done:
		cancel()
		fmt.Fprintf(os.Stderr, "devstack: %v\n", err)
		return 1
	case <-time.After(30 * time.Second):
		cancel()
		fmt.Fprintln(os.Stderr, "devstack did not start")
		return 1
	}
	testHub.server = "http://" + testHub.devInfo.HTTPAddr
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintf(os.Stderr, "devstack: %v\n", err)
		return 1
	}
	return code
}

// testSecrets holds the values of local secrets tests set (secret).
var testSecrets sync.Map

// secret sets the value of the tenant's local secret name and returns its
// reference (env://INTHUB_SECRET_T<n>_<NAME>).
func (h *hub) secret(t *testing.T, name, value string) string {
	key := h.localPrefix + name
	testSecrets.Store(key, value)
	t.Cleanup(func() { testSecrets.Delete(key) })
	return "env://" + key
}

// hub is the test hub as one tenant sees it.
type hub struct {
	server string
	token  string
	// otherToken is another tenant's.
	otherToken string
	// localPrefix starts the names of the tenant's env:// secrets.
	localPrefix string
}

// hubFor gives the test a tenant of its own on the test hub.
func hubFor(t *testing.T) *hub {
	t.Helper()
	n := int(testHub.next.Add(2))
	if n > tenantCount {
		t.Fatalf("more tests than test tenants: raise tenantCount")
	}
	return &hub{server: testHub.server, token: testHub.tokens[n-2], otherToken: testHub.tokens[n-1], localPrefix: fmt.Sprintf("INTHUB_SECRET_T%02d_", n-2)}
}

// env is an environment naming the hub and the tenant's token, plus extra
// KEY=VALUE pairs. HOME is unset so no developer's config file is read.
func (h *hub) env(extra ...string) func(string) string {
	m := map[string]string{"STELLA_SERVER": h.server, "STELLA_TOKEN": h.token}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// result is one stella invocation.
type result struct {
	code           int
	stdout, stderr string
}

// stella runs the CLI in-process, as `stella args...`.
func stella(t *testing.T, env func(string) string, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	code := cli.Run(args, &out, &errOut, env)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout\n" + r.stdout + "--- stderr\n" + r.stderr
}

// mustJSON decodes stdout of a -o json run.
func mustJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout is not the expected JSON: %v\n%s", err, r)
	}
	return v
}

// create makes an integration through the CLI and returns it.
func create(t *testing.T, env func(string) string, args ...string) contracts.Integration {
	t.Helper()
	r := stella(t, env, append([]string{"config", "integrations", "create", "-o", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("create %v: %s", args, r)
	}
	return mustJSON[contracts.Integration](t, r)
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Some spec lines need particular providers and endpoints. A hub without
// one of them fails the case, naming what is missing: the documented command
// lines must all work as written.
const (
	needGitLab   = "provider gitlabserver"
	needS3       = "provider s3compatible"
	needTest     = "endpoint POST /api/v1/integrations/{id}/test"
	needDiscover = "endpoint POST /api/v1/integrations/{id}/discover"
)

// require fails t unless the hub has everything in needs.
func (h *hub) require(t *testing.T, needs ...string) {
	t.Helper()
	for _, n := range needs {
		if !h.has(t, n) {
			t.Fatalf("the hub has no %s, which this spec line needs", n)
		}
	}
}

func (h *hub) has(t *testing.T, need string) bool {
	t.Helper()
	switch need {
	case needGitLab, needS3:
		var list contracts.ProviderList
		h.call(t, http.MethodGet, "/api/v1/integrations/providers?includeTestOnly=true", &list)
		name := strings.TrimPrefix(need, "provider ")
		for _, p := range list.Items {
			if p.ID == name || slices.Contains(p.Aliases, name) {
				return true
			}
		}
		return false
	case needTest, needDiscover:
		// An unknown id on a served route is INTEGRATION_NOT_FOUND; an
		// unserved route is NOT_FOUND.
		action := need[strings.LastIndex(need, "/")+1:]
		var e contracts.ErrorBody
		h.call(t, http.MethodPost, "/api/v1/integrations/00000000-0000-4000-8000-0000000000ff/"+action, &e)
		return e.Code != "NOT_FOUND"
	}
	t.Fatalf("unknown need %q", need)
	return false
}

func (h *hub) call(t *testing.T, method, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, h.server+path, strings.NewReader(`{"resourceType":"repositories"}`))
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, out)
}
