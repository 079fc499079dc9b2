package devstack

import (
	"bufio"
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/services/manager"
	metricsanalyzer "github.com/stella-ops/inthub/services/metrics-analyzer"
	"github.com/stella-ops/inthub/services/notifier"
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// configurationDoc is the page that lists every variable.
var configurationDoc = filepath.Join("..", "..", "docs", "configuration.md")

// documentedVariables returns the variables of the configuration tables of
// docs/configuration.md (every table headed "| variable | default | meaning
// |", one per group of services); a row may name several
// ("`INTHUB_EVENTS_MAX_AGE` / `INTHUB_DLQ_MAX_AGE`"). A variable listed
// twice fails the test: the page has one place for each.
func documentedVariables(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(configurationDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	var vars []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "| variable | default | meaning |"):
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			first := strings.SplitN(strings.Trim(line, "|"), "|", 2)[0]
			for _, m := range name.FindAllStringSubmatch(first, -1) {
				if slices.Contains(vars, m[1]) {
					t.Errorf("%s lists %s twice", configurationDoc, m[1])
				}
				vars = append(vars, m[1])
			}
		case in:
			in = false
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vars) == 0 {
		t.Fatalf("%s has no configuration table headed | variable | default | meaning |", configurationDoc)
	}
	return vars
}

// recorder is a Getenv over a map that records every name asked for.
type recorder struct {
	env  map[string]string
	mu   sync.Mutex
	read map[string]bool
}

func newRecorder(env map[string]string) *recorder {
	return &recorder{env: env, read: map[string]bool{}}
}

func (r *recorder) getenv(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.read[name] = true
	return r.env[name]
}

// loaded is what every loader makes of one environment: each service's
// ConfigFromEnv on its own (as its main calls it), the process settings,
// and the devstack's settings with the configurations Run would hand the
// services.
type loaded struct {
	standalone Services
	process    config.Process
	devstack   Settings
	composed   Services
	errs       map[string]error
}

func load(t *testing.T, getenv config.Getenv) loaded {
	t.Helper()
	var l loaded
	l.errs = map[string]error{}
	l.standalone.Ingress, l.errs["ingress"] = ingress.ConfigFromEnv(getenv)
	l.standalone.Manager, l.errs["manager"] = manager.ConfigFromEnv(getenv)
	l.standalone.HealthScheduler, l.errs["health-scheduler"] = healthscheduler.ConfigFromEnv(getenv)
	l.standalone.DiscoveryWorker, l.errs["discovery-worker"] = discoveryworker.ConfigFromEnv(getenv)
	l.standalone.Notifier, l.errs["notifier"] = notifier.ConfigFromEnv(getenv)
	l.standalone.MetricsAnalyzer, l.errs["metrics-analyzer"] = metricsanalyzer.ConfigFromEnv(getenv)
	l.standalone.PipelineRunner, l.errs["pipeline-runner"] = pipelinerunner.ConfigFromEnv(getenv)
	l.process, l.errs["process"] = config.ProcessFromEnv(getenv)
	l.devstack, l.errs["devstack"] = SettingsFromEnv(getenv)
	cfg := l.devstack.Config.withDefaults()
	tokens, err := cfg.tokens("dev-token-for-the-settings-test")
	if err != nil {
		tokens = nil
	}
	l.composed = cfg.compose(cmp.Or(cfg.NATSURL, "nats://127.0.0.1:1"), nil, prometheus.NewRegistry(), tokens)
	return l
}

// field reads one setting of one service from a Services.
type field struct {
	service string
	get     func(Services) any
}

func busField(get func(bus.Config) any) []field {
	return []field{
		{"ingress", func(s Services) any { return get(s.Ingress.Bus) }},
		{"manager", func(s Services) any { return get(s.Manager.Bus) }},
		{"health-scheduler", func(s Services) any { return get(s.HealthScheduler.Bus) }},
		{"discovery-worker", func(s Services) any { return get(s.DiscoveryWorker.Bus) }},
		{"notifier", func(s Services) any { return get(s.Notifier.Bus) }},
		{"metrics-analyzer", func(s Services) any { return get(s.MetricsAnalyzer.Bus) }},
		{"pipeline-runner", func(s Services) any { return get(s.PipelineRunner.Bus) }},
	}
}

// outboundField reads the services that call out: the health-scheduler,
// discovery-worker and notifier.
func outboundField(policy func(httpx.GuardPolicy) any, local func(credentials.LocalResolver) any) []field {
	get := func(p httpx.GuardPolicy, r *credentials.Resolver) any {
		if policy != nil {
			return policy(p)
		}
		if r == nil {
			return nil
		}
		return local(r.Local)
	}
	return []field{
		{"health-scheduler", func(s Services) any { return get(s.HealthScheduler.Policy, s.HealthScheduler.Resolver) }},
		{"discovery-worker", func(s Services) any { return get(s.DiscoveryWorker.Policy, s.DiscoveryWorker.Resolver) }},
		{"notifier", func(s Services) any { return get(s.Notifier.Policy, s.Notifier.Resolver) }},
		{"metrics-analyzer", func(s Services) any { return get(s.MetricsAnalyzer.Policy, s.MetricsAnalyzer.Resolver) }},
		{"pipeline-runner", func(s Services) any { return get(s.PipelineRunner.Policy, s.PipelineRunner.Resolver) }},
	}
}

// localField reads the local-reference policy of every service that has
// one: the manager checks references when saved, the others when resolved.
func localField(get func(credentials.LocalPolicy) any) []field {
	resolver := func(r *credentials.Resolver) any {
		if r == nil {
			return nil
		}
		return get(r.Local.Policy)
	}
	return []field{
		{"manager", func(s Services) any { return get(s.Manager.LocalPolicy) }},
		{"health-scheduler", func(s Services) any { return resolver(s.HealthScheduler.Resolver) }},
		{"discovery-worker", func(s Services) any { return resolver(s.DiscoveryWorker.Resolver) }},
		{"notifier", func(s Services) any { return resolver(s.Notifier.Resolver) }},
		{"metrics-analyzer", func(s Services) any { return resolver(s.MetricsAnalyzer.Resolver) }},
		{"pipeline-runner", func(s Services) any { return resolver(s.PipelineRunner.Resolver) }},
	}
}

// opsTenant is a tenant the INTHUB_LOCAL_SECRET_TENANTS probe grants.
const opsTenant = "00000000-0000-4000-8000-0000000000aa"

func one(service string, get func(Services) any) []field { return []field{{service, get}} }

// probe is how the test sets one variable and where the value must arrive.
type probe struct {
	value string
	want  any
	// services are the services reading it, checked both standalone and in
	// the devstack's composition.
	services []field
	// process reads it from the process settings (standalone and devstack).
	process func(config.Process) any
	// devstack reads it from the devstack's own settings.
	devstack func(Settings) any
	// bad, if set, is a value every loader reading the variable refuses,
	// naming the variable.
	bad string
}

// probes has one entry per variable any loader reads.
func probes(t *testing.T) map[string]probe {
	dir := t.TempDir()
	tenant := "0193a0b4-0000-7000-8000-0000000000c1"
	tokensFile := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokensFile, []byte(`{"tokens":[{"name":"from-file","tenantId":"`+tenant+`","sha256":"`+ingress.HashToken("file-token")+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	natsPasswordFile := filepath.Join(dir, "nats-password")
	if err := os.WriteFile(natsPasswordFile, []byte("nats-file-probe-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	principal := func(token string) func(Services) any {
		return func(s Services) any {
			if s.Ingress.Tokens == nil {
				return nil
			}
			p, ok := s.Ingress.Tokens.Lookup(token)
			if !ok {
				return nil
			}
			return p.Name + "/" + strings.Join(p.Roles, "+")
		}
	}
	ttls, err := cache.ParseTTLs("tags=2m,repositories=30m")
	if err != nil {
		t.Fatal(err)
	}
	health := func(get func(healthscheduler.Config) any) []field {
		return one("health-scheduler", func(s Services) any { return get(s.HealthScheduler) })
	}
	oidc := func(get func(ingress.OIDCConfig) any) []field {
		return one("ingress", func(s Services) any { return get(s.Ingress.OIDC) })
	}
	discovery := func(get func(discoveryworker.Config) any) []field {
		return one("discovery-worker", func(s Services) any { return get(s.DiscoveryWorker) })
	}
	// discoveryCache reads a setting of the discovery cache, which the
	// discovery-worker fills and the ingress answers hits from.
	discoveryCache := func(worker func(discoveryworker.Config) any, ingressCache func(cache.Settings) any) []field {
		return append(discovery(worker), field{"ingress", func(s Services) any { return ingressCache(s.Ingress.DiscoveryCacheSettings) }})
	}
	return map[string]probe{
		"NATS_URL": {value: "nats://10.9.8.7:4333", want: "nats://10.9.8.7:4333",
			services: busField(func(b bus.Config) any { return b.URL }), devstack: func(s Settings) any { return s.Config.NATSURL }},
		"INTHUB_STREAM_REPLICAS":      {value: "3", want: 3, bad: "6", services: busField(func(b bus.Config) any { return b.Replicas })},
		"INTHUB_MAX_DELIVER":          {value: "9", want: 9, bad: "0", services: busField(func(b bus.Config) any { return b.MaxDeliver })},
		"INTHUB_EVENTS_MAX_AGE":       {value: "100h", want: 100 * time.Hour, bad: "a week", services: busField(func(b bus.Config) any { return b.EventsMaxAge })},
		"INTHUB_EVENTS_MAX_MB":        {value: "20480", want: int64(20480 << 20), bad: "-1", services: busField(func(b bus.Config) any { return b.EventsMaxBytes })},
		"INTHUB_DLQ_MAX_AGE":          {value: "900h", want: 900 * time.Hour, bad: "-1h", services: busField(func(b bus.Config) any { return b.DLQMaxAge })},
		"INTHUB_AUDIT_MAX_AGE":        {value: "2000h", want: 2000 * time.Hour, bad: "forever", services: busField(func(b bus.Config) any { return b.AuditMaxAge })},
		"INTHUB_AUDIT_MAX_MB":         {value: "512", want: int64(512 << 20), bad: "-1", services: busField(func(b bus.Config) any { return b.AuditMaxBytes })},
		"INTHUB_ACK_WAIT":             {value: "12s", want: 12 * time.Second, bad: "500ms", services: busField(func(b bus.Config) any { return b.AckWait })},
		"INTHUB_HANDLER_TIMEOUT":      {value: "50s", want: 50 * time.Second, bad: "0s", services: busField(func(b bus.Config) any { return b.HandlerTimeout })},
		"INTHUB_PUBLISH_TIMEOUT":      {value: "3s", want: 3 * time.Second, bad: "soon", services: busField(func(b bus.Config) any { return b.PublishTimeout })},
		"INTHUB_ENDPOINT_CONCURRENCY": {value: "64", want: 64, bad: "0", services: busField(func(b bus.Config) any { return b.EndpointConcurrency })},
		"INTHUB_NATS_USER":            {value: "manager", want: "manager", services: busField(func(b bus.Config) any { return b.Auth.User })},
		"INTHUB_NATS_PASSWORD": {value: "nats-probe-value", want: "nats-probe-value",
			services: busField(func(b bus.Config) any { return b.Auth.Password })},
		"INTHUB_NATS_PASSWORD_FILE": {value: natsPasswordFile, want: "nats-file-probe-value", bad: filepath.Join(dir, "missing-password"),
			services: busField(func(b bus.Config) any { return b.Auth.Password })},
		"INTHUB_NATS_NKEY_SEED_FILE": {value: "/run/secrets/nats/seed.nk", want: "/run/secrets/nats/seed.nk",
			services: busField(func(b bus.Config) any { return b.Auth.NKeySeedFile })},
		"INTHUB_NATS_CREDS_FILE": {value: "/run/secrets/nats/user.creds", want: "/run/secrets/nats/user.creds",
			services: busField(func(b bus.Config) any { return b.Auth.CredsFile })},
		"INTHUB_NATS_TLS_CA": {value: "/etc/nats/ca.pem", want: "/etc/nats/ca.pem", services: busField(func(b bus.Config) any { return b.Auth.CAFile })},
		"INTHUB_NATS_TLS_CERT": {value: "/etc/nats/client.pem", want: "/etc/nats/client.pem",
			services: busField(func(b bus.Config) any { return b.Auth.CertFile })},
		"INTHUB_NATS_TLS_KEY": {value: "/etc/nats/client-key.pem", want: "/etc/nats/client-key.pem",
			services: busField(func(b bus.Config) any { return b.Auth.KeyFile })},
		"INTHUB_STORE_TIMEOUT": {value: "2s", want: 2 * time.Second, bad: "soon",
			services: one("manager", func(s Services) any { return s.Manager.StoreTimeout })},
		"LOG_LEVEL": {value: "debug", want: "debug", bad: "loud", process: func(p config.Process) any { return p.LogLevel }},
		"METRICS_ADDR": {value: "127.0.0.1:9999", want: "127.0.0.1:9999", process: func(p config.Process) any { return p.MetricsAddr },
			devstack: func(s Settings) any { return s.Config.MetricsAddr }},
		"OTEL_TRACES_FILE": {value: "/var/log/inthub/spans.json", want: "/var/log/inthub/spans.json", process: func(p config.Process) any { return p.TracesFile }},
		"INTHUB_ADDR": {value: "127.0.0.1:8181", want: "127.0.0.1:8181",
			services: one("ingress", func(s Services) any { return s.Ingress.Addr })},
		"INTHUB_TOKENS": {value: "ops:" + tenant + ":" + ingress.HashToken("env-token") + ":operator", want: "ops/operator", bad: "ops:not-a-tenant:00",
			services: one("ingress", principal("env-token"))},
		"INTHUB_TOKENS_FILE": {value: tokensFile, want: "from-file/", bad: filepath.Join(dir, "missing.json"),
			services: one("ingress", principal("file-token"))},
		"INTHUB_BODY_LIMIT": {value: "4096", want: int64(4096), bad: "1MB",
			services: one("ingress", func(s Services) any { return s.Ingress.BodyLimit })},
		"INTHUB_ACCESS_LOG_RATE": {value: "-1", want: float64(-1), bad: "-2",
			services: one("ingress", func(s Services) any { return s.Ingress.AccessLogRate })},
		"INTHUB_DATA_DIR":  {value: "/srv/inthub", want: "/srv/inthub", devstack: func(s Settings) any { return s.Config.DataDir }},
		"INTHUB_NATS_PORT": {value: "4299", want: 4299, bad: "70000", devstack: func(s Settings) any { return s.Config.NATSPort }},
		"INTHUB_LOG_FILE":  {value: "/var/log/inthub.log", want: "/var/log/inthub.log", devstack: func(s Settings) any { return s.LogFile }},
		"REDIS_URL": {value: "redis://10.0.0.5:6379/2", want: "redis://10.0.0.5:6379/2",
			services: discoveryCache(func(c discoveryworker.Config) any { return c.RedisURL }, func(c cache.Settings) any { return c.URL })},
		"REDIS_SENTINEL_MASTER": {value: "inthub", want: "inthub",
			services: discoveryCache(func(c discoveryworker.Config) any { return c.Redis.SentinelMaster }, func(c cache.Settings) any { return c.Servers.SentinelMaster })},
		"REDIS_SENTINEL_ADDRS": {value: "10.0.0.5:26379, sentinel-1.redis:26379", want: "10.0.0.5:26379+sentinel-1.redis:26379", bad: "10.0.0.5",
			services: discoveryCache(func(c discoveryworker.Config) any { return strings.Join(c.Redis.SentinelAddrs, "+") }, func(c cache.Settings) any { return strings.Join(c.Servers.SentinelAddrs, "+") })},
		"REDIS_SENTINEL_PASSWORD": {value: "sentinel-probe-value", want: "sentinel-probe-value",
			services: discoveryCache(func(c discoveryworker.Config) any { return c.Redis.SentinelPassword }, func(c cache.Settings) any { return c.Servers.SentinelPassword })},
		"REDIS_CLUSTER_ADDRS": {value: "redis-0.redis:6379,redis-1.redis:6379", want: "redis-0.redis:6379+redis-1.redis:6379", bad: "redis-0.redis:port",
			services: discoveryCache(func(c discoveryworker.Config) any { return strings.Join(c.Redis.ClusterAddrs, "+") }, func(c cache.Settings) any { return strings.Join(c.Servers.ClusterAddrs, "+") })},
		"REDIS_USERNAME": {value: "inthub", want: "inthub",
			services: discoveryCache(func(c discoveryworker.Config) any { return c.Redis.Username }, func(c cache.Settings) any { return c.Servers.Username })},
		"REDIS_PASSWORD": {value: "redis-probe-value", want: "redis-probe-value",
			services: discoveryCache(func(c discoveryworker.Config) any { return c.Redis.Password }, func(c cache.Settings) any { return c.Servers.Password })},
		"INTHUB_DISCOVERY_CACHE_TTLS": {value: "tags=2m,repositories=30m", want: ttls, bad: "tags=soon",
			services: discoveryCache(func(c discoveryworker.Config) any { return c.CacheTTLs }, func(c cache.Settings) any { return c.TTLs })},
		"INTHUB_PIPELINE_POLL_INTERVAL": {value: "3s", want: 3 * time.Second, bad: "often",
			services: one("pipeline-runner", func(s Services) any { return s.PipelineRunner.PollInterval })},
		"INTHUB_PIPELINE_MAX_POLL_INTERVAL": {value: "2m", want: 2 * time.Minute, bad: "long",
			services: one("pipeline-runner", func(s Services) any { return s.PipelineRunner.MaxPollInterval })},
		"INTHUB_PIPELINE_LEASE_TTL": {value: "45s", want: 45 * time.Second, bad: "ever",
			services: one("pipeline-runner", func(s Services) any { return s.PipelineRunner.LeaseTTL })},
		"INTHUB_PIPELINE_WORKERS": {value: "9", want: 9, bad: "0",
			services: one("pipeline-runner", func(s Services) any { return s.PipelineRunner.Workers })},
		"INTHUB_DISCOVERY_WORKERS": {value: "7", want: 7, bad: "0",
			services: discovery(func(c discoveryworker.Config) any { return c.Workers })},
		"INTHUB_METRICS_WORKERS": {value: "5", want: 5, bad: "0",
			services: one("metrics-analyzer", func(s Services) any { return s.MetricsAnalyzer.Workers })},
		"INTHUB_CHECK_CONNECTIVITY_INTERVAL": {value: "2m", want: 2 * time.Minute, bad: "0s",
			services: health(func(c healthscheduler.Config) any { return c.Intervals.Connectivity })},
		"INTHUB_CHECK_AUTHENTICATION_INTERVAL": {value: "7m", want: 7 * time.Minute, bad: "7",
			services: health(func(c healthscheduler.Config) any { return c.Intervals.Authentication })},
		"INTHUB_CHECK_FUNCTIONALITY_INTERVAL": {value: "20m", want: 20 * time.Minute, bad: "never",
			services: health(func(c healthscheduler.Config) any { return c.Intervals.Functionality })},
		"INTHUB_CHECK_WORKERS": {value: "33", want: 33, bad: "many",
			services: health(func(c healthscheduler.Config) any { return c.Workers })},
		"INTHUB_CHECK_MAX_QUEUED": {value: "2500", want: 2500, bad: "-1",
			services: health(func(c healthscheduler.Config) any { return c.MaxQueued })},
		"INTHUB_FLAP_THRESHOLD": {value: "4", want: 4, bad: "-1",
			services: health(func(c healthscheduler.Config) any { return c.FlapThreshold })},
		"INTHUB_ALLOW_PRIVATE_NETWORKS": {value: "true", want: true, bad: "sometimes",
			services: append(outboundField(func(p httpx.GuardPolicy) any { return p.AllowPrivate }, nil),
				oidc(func(c ingress.OIDCConfig) any { return c.Policy.AllowPrivate })...)},
		"INTHUB_ALLOWED_CIDRS": {value: "10.20.0.0/16", want: "[10.20.0.0/16]", bad: "10.20.0.1/16",
			services: append(outboundField(func(p httpx.GuardPolicy) any { return fmt.Sprint(p.AllowCIDRs) }, nil),
				oidc(func(c ingress.OIDCConfig) any { return fmt.Sprint(c.Policy.AllowCIDRs) })...)},
		"INTHUB_TOKENS_RELOAD_INTERVAL": {value: "30s", want: 30 * time.Second, bad: "0s",
			services: one("ingress", func(s Services) any { return s.Ingress.TokensReload })},
		"INTHUB_OIDC_ISSUER": {value: "https://login.example.com/realms/hub", want: "https://login.example.com/realms/hub", bad: "http://login.example.com",
			services: oidc(func(c ingress.OIDCConfig) any { return c.Issuer })},
		"INTHUB_OIDC_AUDIENCE": {value: "inthub", want: "inthub",
			services: oidc(func(c ingress.OIDCConfig) any { return c.Audience })},
		"INTHUB_OIDC_TENANT_CLAIM": {value: "org_id", want: "org_id",
			services: oidc(func(c ingress.OIDCConfig) any { return c.TenantClaim })},
		"INTHUB_OIDC_ROLES_CLAIM": {value: "realm_access.roles", want: "realm_access.roles",
			services: oidc(func(c ingress.OIDCConfig) any { return c.RolesClaim })},
		"INTHUB_OIDC_OPERATOR_ROLES": {value: "hub-admin, sre", want: "hub-admin+sre",
			services: oidc(func(c ingress.OIDCConfig) any { return strings.Join(c.OperatorRoles, "+") })},
		"INTHUB_OIDC_TENANT_ROLES": {value: "hub-user", want: "hub-user",
			services: oidc(func(c ingress.OIDCConfig) any { return strings.Join(c.TenantRoles, "+") })},
		"INTHUB_OIDC_TENANTS": {value: tenant, want: tenant, bad: "acme",
			services: oidc(func(c ingress.OIDCConfig) any { return strings.Join(c.Tenants, "+") })},
		"INTHUB_OIDC_CA_FILE": {value: tokensFile, want: true, bad: filepath.Join(dir, "missing.pem"),
			services: oidc(func(c ingress.OIDCConfig) any { return len(c.CACertPEM) > 0 })},
		"INTHUB_LOCAL_SECRET_ENV_PREFIX": {value: "HUB_SECRET_", want: "HUB_SECRET_", bad: "9LIVES",
			services: localField(func(p credentials.LocalPolicy) any { envBase, _ := p.Bases(); return envBase })},
		"INTHUB_LOCAL_SECRET_DIR": {value: "/srv/secrets", want: "/srv/secrets",
			services: localField(func(p credentials.LocalPolicy) any { _, dir := p.Bases(); return dir })},
		"INTHUB_LOCAL_SECRET_TENANTS": {value: opsTenant + "=OPS", want: "INTHUB_SECRET_OPS_", bad: opsTenant + "=ops_team",
			services: localField(func(p credentials.LocalPolicy) any { prefix, _, _ := p.Grant(opsTenant); return prefix })},
	}
}

// Every variable of docs/configuration.md is read by some loader, and every
// variable a loader reads is listed there.
func TestConfigurationDocListsExactlyWhatTheLoadersRead(t *testing.T) {
	t.Parallel()
	documented := documentedVariables(t)
	rec := newRecorder(nil)
	load(t, rec.getenv)
	read := slices.Sorted(maps.Keys(rec.read))
	for _, v := range documented {
		if !rec.read[v] {
			t.Errorf("docs/configuration.md documents %s, but no service's loader reads it", v)
		}
	}
	for _, v := range read {
		if !slices.Contains(documented, v) {
			t.Errorf("a loader reads %s, but no table of docs/configuration.md lists it", v)
		}
	}
	known := probes(t)
	for _, v := range read {
		if _, ok := known[v]; !ok {
			t.Errorf("%s has no probe in this test: add where its value must arrive", v)
		}
	}
}

// Each documented variable, set alone to a value that is not its default,
// reaches every service that reads it: started on its own (its main calls
// the same ConfigFromEnv) and in `make run`'s composition.
func TestEveryDocumentedVariableReachesItsServices(t *testing.T) {
	t.Parallel()
	all := probes(t)
	for _, name := range documentedVariables(t) {
		p, ok := all[name]
		if !ok {
			t.Errorf("documented variable %s has no probe", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := load(t, newRecorder(map[string]string{name: p.value}).getenv)
			for who, err := range l.errs {
				if err != nil {
					t.Fatalf("%s=%q: %s loader: %v", name, p.value, who, err)
				}
			}
			check := func(where string, got any) {
				t.Helper()
				if !reflect.DeepEqual(got, p.want) {
					t.Errorf("%s=%q: %s holds %#v, want %#v", name, p.value, where, got, p.want)
				}
			}
			for _, f := range p.services {
				check(f.service, f.get(l.standalone))
				check("make run's "+f.service, f.get(l.composed))
			}
			if p.process != nil {
				check("a service's process settings", p.process(l.process))
				check("make run's process settings", p.process(l.devstack.Process))
			}
			if p.devstack != nil {
				check("make run's settings", p.devstack(l.devstack))
			}
			if len(p.services) == 0 && p.process == nil && p.devstack == nil {
				t.Fatalf("probe of %s checks nothing", name)
			}
		})
	}
}

// A bad value stops every loader that reads the variable, with an error
// that names it.
func TestBadValuesAreRefusedByName(t *testing.T) {
	t.Parallel()
	for name, p := range probes(t) {
		if p.bad == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := load(t, newRecorder(map[string]string{name: p.bad}).getenv)
			readers := []string{"devstack"}
			for _, f := range p.services {
				readers = append(readers, f.service)
			}
			if p.process != nil {
				readers = append(readers, "process")
			}
			for _, who := range readers {
				err := l.errs[who]
				if err == nil || !strings.Contains(err.Error(), name) {
					t.Errorf("%s=%q: %s loader says %v, want an error naming %s", name, p.bad, who, err, name)
				}
			}
		})
	}
}

// `make run` differs from a service started on its own only where the
// all-in-one must: metrics on a loopback listener, local secret files in
// its data folder, and its own bus client names.
func TestDevstackDefaults(t *testing.T) {
	t.Parallel()
	l := load(t, newRecorder(map[string]string{"INTHUB_DATA_DIR": "/srv/hub"}).getenv)
	for who, err := range l.errs {
		if err != nil {
			t.Fatalf("%s loader: %v", who, err)
		}
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"service metrics listener", l.process.MetricsAddr, ""},
		{"make run metrics listener", l.devstack.Config.MetricsAddr, DefaultMetricsAddr},
		{"service secret folder", second(l.standalone.HealthScheduler.Resolver.Local.Policy.Bases()), "/run/secrets/inthub"},
		{"make run secret folder", second(l.composed.Notifier.Resolver.Local.Policy.Bases()), filepath.Join("/srv/hub", "secrets")},
		{"service grants no tenant", third(l.standalone.Manager.LocalPolicy.Grant(DevTenantID)), false},
		{"make run grants the dev tenant its own names", first(l.composed.Manager.LocalPolicy.Grant(DevTenantID)), "INTHUB_SECRET_DEV_"},
		{"make run grants the dev tenant its own folder", second3(l.composed.Notifier.Resolver.Local.Policy.Grant(DevTenantID)), filepath.Join("/srv/hub", "secrets", "dev")},
		{"make run log file", l.devstack.LogFile, filepath.Join("/srv/hub", "devstack.log")},
		{"make run tokens without INTHUB_TOKENS", l.composed.Ingress.Tokens != nil, true},
		{"make run bus client name", l.composed.DiscoveryWorker.Bus.Name, "discovery-worker"},
		{"body limit", l.composed.Ingress.BodyLimit, int64(ingress.DefaultBodyLimit)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("%#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func second(_, b string) string          { return b }
func first(a, _ string, _ bool) string   { return a }
func second3(_, b string, _ bool) string { return b }
func third(_, _ string, ok bool) bool    { return ok }
