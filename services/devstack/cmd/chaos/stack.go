package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// services are the hub's binaries the tool builds and runs, in start order:
// the manager first, the ingress last (it serves the manager's catalog).
var services = []string{"manager", "health-scheduler", "discovery-worker", "notifier", "pipeline-runner", "metrics-analyzer", "ingress"}

// readyLines are the log messages each service writes once it serves.
var readyLines = map[string]string{
	"manager":          `"msg":"manager ready"`,
	"health-scheduler": `"msg":"health-scheduler ready"`,
	"discovery-worker": `"msg":"discovery-worker ready"`,
	"notifier":         `"msg":"notifier ready"`,
	"pipeline-runner":  `"msg":"pipeline-runner ready"`,
	"metrics-analyzer": `"msg":"metrics-analyzer ready"`,
}

// workerReplicas is how many copies of each worker run, so a killed one's
// commands can run elsewhere; the manager and the ingress run once, so
// killing them is an outage whose recovery the audit times.
var workerReplicas = map[string]int{"health-scheduler": 2, "discovery-worker": 2, "notifier": 2}

// binaries are the built executables.
type binaries struct {
	dir string
}

func (b binaries) path(name string) string { return filepath.Join(b.dir, name) }

// build compiles each service's cmd and nats-server (from the module the
// devstack already requires, so the version is the go.sum's) into dir.
func build(ctx context.Context, repo, dir string) (binaries, error) {
	b := binaries{dir: dir}
	run := func(wd string, args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = wd
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, s := range services {
		if err := run(repo, "build", "-o", b.path(s), "./services/"+s+"/cmd/"+s); err != nil {
			return b, err
		}
	}
	if err := run(filepath.Join(repo, "services", "devstack"), "build", "-o", b.path("nats-server"), "github.com/nats-io/nats-server/v2"); err != nil {
		return b, err
	}
	return b, nil
}

// redisBinary is Debian's redis-server (scripts/test-deps.sh installs it).
const redisBinary = "/usr/bin/redis-server"

// stack is one scenario's running hub: NATS (one node or three), Redis and
// every service as its own process, all on loopback, in dir.
type stack struct {
	dir     string
	bins    binaries
	g       *group
	nats    []*proc
	natsURL string
	redis   *proc
	svc     map[string][]*proc
	api     string // http://127.0.0.1:<port>/api/v1
	token   string
	tenant  string
	ciToken string
	// ciSecret is the credential of the CI integration the pipeline runs
	// go to, given to the services as a local secret of the tenant.
	ciSecret string
	extra    []string // KEY=VALUE for every service
}

// stackOptions choose the shape of a stack.
type stackOptions struct {
	repo    string
	cluster bool
	extra   []string
}

// natsNode is one nats-server's ports.
type natsNode struct {
	client, monitor, route int
}

// startStack starts NATS, Redis and the services in g, each ready before the
// next starts.
func startStack(ctx context.Context, g *group, dir string, bins binaries, o stackOptions) (*stack, error) {
	s := &stack{dir: dir, bins: bins, g: g, svc: map[string][]*proc{}, tenant: uuid.NewString(), extra: o.extra}
	s.token = randomToken()
	s.ciToken = randomToken()
	s.ciSecret = `{"token":"` + s.ciToken + `"}`
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		return nil, err
	}
	nodes := 1
	if o.cluster {
		nodes = 3
	}
	free, err := freePorts(3*nodes + 2)
	if err != nil {
		return nil, err
	}
	ports := make([]natsNode, nodes)
	for i := range ports {
		ports[i] = natsNode{client: free[3*i], monitor: free[3*i+1], route: free[3*i+2]}
	}
	redisPort, ingressPort := free[3*nodes], free[3*nodes+1]
	var urls []string
	for i := range ports {
		p, err := s.natsProc(o, ports, i)
		if err != nil {
			return nil, err
		}
		s.nats = append(s.nats, g.add(p))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i].client))
	}
	s.natsURL = strings.Join(urls, ",")
	// A cluster's nodes wait for each other: start all, then wait for each.
	errc := make(chan error, len(s.nats))
	for _, p := range s.nats {
		go func() { errc <- p.start(ctx) }()
	}
	for range s.nats {
		if err := <-errc; err != nil {
			return nil, err
		}
	}
	s.redis = g.add(&proc{
		name: "redis", bin: redisBinary, dir: dir, logPath: s.logPath("redis"), env: baseEnv(dir),
		args: []string{"--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--protected-mode", "no", "--loglevel", "warning"},
		ready: readiness{probe: redisPing(fmt.Sprintf("127.0.0.1:%d", redisPort))},
	})
	if _, err := os.Stat(redisBinary); err != nil {
		return nil, fmt.Errorf("%s is not installed: `make chaos` installs it (scripts/test-deps.sh)", redisBinary)
	}
	if err := s.redis.start(ctx); err != nil {
		return nil, err
	}
	s.api = fmt.Sprintf("http://127.0.0.1:%d/api/v1", ingressPort)
	replicas := 1
	if o.cluster {
		replicas = 3
	}
	for _, name := range services {
		n := max(1, workerReplicas[name])
		for i := 1; i <= n; i++ {
			env := append(baseEnv(dir),
				"NATS_URL="+s.natsURL,
				"INTHUB_STREAM_REPLICAS="+strconv.Itoa(replicas),
				"LOG_LEVEL=info",
				"METRICS_ADDR=off",
				// Loopback targets: the inmemory provider and the tool's
				// webhook receiver.
				"INTHUB_ALLOW_PRIVATE_NETWORKS=true",
				"REDIS_URL="+fmt.Sprintf("redis://127.0.0.1:%d", redisPort),
				// The CI integration's credential, env://INTHUB_SECRET_CHAOS_CI.
				"INTHUB_LOCAL_SECRET_TENANTS="+s.tenant+"=CHAOS",
				ciSecretEnv+"="+s.ciSecret,
			)
			if name == "pipeline-runner" {
				// Runs of a few seconds read often; a killed runner's
				// leases run out after 6s (a provider call gets half).
				env = append(env, "INTHUB_PIPELINE_POLL_INTERVAL=500ms", "INTHUB_PIPELINE_MAX_POLL_INTERVAL=1s", "INTHUB_PIPELINE_LEASE_TTL=6s")
			}
			ready := readiness{line: readyLines[name]}
			if name == "ingress" {
				env = append(env,
					fmt.Sprintf("INTHUB_ADDR=127.0.0.1:%d", ingressPort),
					"INTHUB_TOKENS=chaos:"+s.tenant+":"+sha256Hex(s.token)+":operator")
				ready = readiness{probe: httpOK(fmt.Sprintf("http://127.0.0.1:%d/readyz", ingressPort))}
			}
			env = append(env, o.extra...)
			id := name
			if n > 1 {
				id = fmt.Sprintf("%s-%d", name, i)
			}
			p := g.add(&proc{name: id, bin: bins.path(name), dir: dir, env: env, logPath: s.logPath(id), ready: ready})
			s.svc[name] = append(s.svc[name], p)
			if err := p.start(ctx); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// ciSecretEnv holds the CI integration's credential in the services'
// environment; its reference is env://INTHUB_SECRET_CHAOS_CI.
const ciSecretEnv = "INTHUB_SECRET_CHAOS_CI"

// natsProc is node i: the shipped config file (deployments/nats) with the
// store folder moved into dir, and loopback ports given as flags, which
// override the file.
func (s *stack) natsProc(o stackOptions, ports []natsNode, i int) (*proc, error) {
	src := filepath.Join(o.repo, "deployments", "nats", "nats.conf")
	name := "nats"
	if o.cluster {
		name = fmt.Sprintf("nats-%d", i+1)
		src = filepath.Join(o.repo, "deployments", "nats", "cluster", name+".conf")
	}
	conf, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("nats config: %w", err)
	}
	store := filepath.Join(s.dir, name)
	out, err := withStoreDir(string(conf), store)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	confPath := filepath.Join(s.dir, name+".conf")
	if err := os.WriteFile(confPath, []byte(out), 0o600); err != nil {
		return nil, err
	}
	n := ports[i]
	args := []string{"-c", confPath, "-a", "127.0.0.1", "-p", strconv.Itoa(n.client), "-m", strconv.Itoa(n.monitor)}
	if o.cluster {
		routes := make([]string, len(ports))
		for j, r := range ports {
			routes[j] = fmt.Sprintf("nats://127.0.0.1:%d", r.route)
		}
		args = append(args, "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", n.route), "--routes", strings.Join(routes, ","))
	}
	return &proc{
		name: name, bin: s.bins.path("nats-server"), args: args, dir: s.dir, env: baseEnv(s.dir), logPath: s.logPath(name),
		// /healthz answers 200 once JetStream is current on this node.
		ready: readiness{probe: httpOK(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.monitor))},
	}, nil
}

// storeDirLine is the JetStream store folder of a nats-server config file.
var storeDirLine = regexp.MustCompile(`(?m)^(\s*)store_dir:.*$`)

// withStoreDir returns conf with its one store_dir set to dir. nats-server
// refuses -sd beside a store_dir in the file, so the file is rewritten; a
// file without exactly one store_dir is an error, not a silent default.
func withStoreDir(conf, dir string) (string, error) {
	if n := len(storeDirLine.FindAllStringIndex(conf, -1)); n != 1 {
		return "", fmt.Errorf("want one store_dir line, found %d", n)
	}
	return storeDirLine.ReplaceAllString(conf, "${1}store_dir: "+strconv.Quote(dir)), nil
}

func (s *stack) logPath(name string) string { return filepath.Join(s.dir, "logs", name+".log") }

// procs returns the processes a target names: a service (every replica, or
// one, as "health-scheduler-1"), "nats", "nats-2", "redis".
func (s *stack) procs() map[string]*proc {
	out := map[string]*proc{"redis": s.redis}
	for _, p := range s.nats {
		out[p.name] = p
	}
	for _, list := range s.svc {
		for _, p := range list {
			out[p.name] = p
		}
	}
	return out
}

// all returns every process of the stack.
func (s *stack) all() []*proc {
	var out []*proc
	for _, p := range s.procs() {
		out = append(out, p)
	}
	return out
}

// baseEnv is the environment of every child: nothing of the tool's own
// (no NATS_URL or token leaks in from the caller's shell).
func baseEnv(dir string) []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir}
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "chaos-" + hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// probeClient never reuses connections: a restarted server is probed on a
// fresh one.
var probeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

// httpOK probes url for a 200.
func httpOK(url string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// redisPing probes Redis at addr with PING.
func redisPing(addr string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer c.Close()
		return c.Ping(ctx).Err() == nil
	}
}
