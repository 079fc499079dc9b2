package helmtest

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestChartDefaultValues: `helm template` with the chart's own values.
func TestChartDefaultValues(t *testing.T) {
	t.Parallel()
	r := renderIndexed(t, valuesFile(t, "values.yaml"))
	// Without tokens.list the ingress waits for a tokens Secret made by hand.
	checkPolicy(t, r, releaseName+"-inthub-tokens")

	cm := r.configMaps[releaseName+"-inthub"]
	if cm == nil {
		t.Fatalf("no ConfigMap %s-inthub", releaseName)
	}
	if got := cm.Data["INTHUB_STREAM_REPLICAS"]; got != "1" {
		t.Errorf("INTHUB_STREAM_REPLICAS = %q, want 1", got)
	}
	if len(r.monitors) != 0 || len(r.hpas) != 0 {
		t.Errorf("ServiceMonitor and HPA are opt-in: have %d and %d", len(r.monitors), len(r.hpas))
	}
	for _, c := range components {
		d := r.deployment(t, c)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("%s: replicas %v, want 2", c, d.Spec.Replicas)
		}
		env := r.env(t, d.Spec.Template.Spec.Containers[0])
		if s := fmtEnv(env, "REDIS_"); s != "" {
			t.Errorf("%s: Redis settings without redis.mode: %s", c, s)
		}
		if s := fmtEnv(env, "INTHUB_NATS_"); s != "" {
			t.Errorf("%s: NATS identity without nats.auth: %s", c, s)
		}
	}
	ing := r.deployment(t, "ingress").Spec.Template.Spec.Containers[0]
	if env := r.env(t, ing); env["INTHUB_TOKENS_FILE"] != "/etc/inthub/tokens/tokens.json" || env["INTHUB_ADDR"] != ":8080" {
		t.Errorf("ingress: INTHUB_TOKENS_FILE %q, INTHUB_ADDR %q", env["INTHUB_TOKENS_FILE"], env["INTHUB_ADDR"])
	}
	api := r.services[releaseName+"-inthub-ingress"]
	if api == nil || api.Spec.Ports[0].TargetPort.String() != "http" || api.Spec.Ports[0].Port != 80 {
		t.Errorf("the ingress's Service: %+v", api)
	}
}

// TestChartProductionValues: values-production.yaml, an external NATS
// cluster with R3 streams, per-service NATS identities over TLS, Redis
// Sentinel, OIDC, autoscaling and a ServiceMonitor.
func TestChartProductionValues(t *testing.T) {
	t.Parallel()
	r := renderIndexed(t, valuesFile(t, "values-production.yaml"))
	checkPolicy(t, r, "inthub-nats-users", "inthub-nats-tls", "inthub-redis", "inthub-tokens")

	cm := r.configMaps[releaseName+"-inthub"]
	if cm.Data["INTHUB_STREAM_REPLICAS"] != "3" || len(strings.Split(cm.Data["NATS_URL"], ",")) != 3 {
		t.Errorf("NATS_URL %q with INTHUB_STREAM_REPLICAS %q, want three nodes and R3", cm.Data["NATS_URL"], cm.Data["INTHUB_STREAM_REPLICAS"])
	}
	for _, c := range components {
		d := r.deployment(t, c)
		pod := d.Spec.Template.Spec
		ctr := pod.Containers[0]
		env := r.env(t, ctr)
		if !strings.HasPrefix(ctr.Image, "registry.example.com/stella-ops/inthub/"+c+":") {
			t.Errorf("%s: image %s", c, ctr.Image)
		}
		// its own NATS identity, and only its own
		if env["INTHUB_NATS_USER"] != c || env["INTHUB_NATS_PASSWORD_FILE"] != "/etc/inthub/nats-auth/"+c+".password" {
			t.Errorf("%s: NATS identity %s", c, fmtEnv(env, "INTHUB_NATS_"))
		}
		if env["INTHUB_NATS_TLS_CA"] != "/etc/inthub/nats-tls/ca.crt" {
			t.Errorf("%s: INTHUB_NATS_TLS_CA %q", c, env["INTHUB_NATS_TLS_CA"])
		}
		for _, v := range pod.Volumes {
			if v.Name != "nats-auth" {
				continue
			}
			if v.Secret.SecretName != "inthub-nats-users" || len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != c+".password" {
				t.Errorf("%s: nats-auth volume %+v, want only key %s.password of inthub-nats-users", c, v.Secret, c)
			}
		}
		// The discovery-worker fills the discovery cache; the ingress
		// answers its hits from the same Redis.
		redis := fmtEnv(env, "REDIS_")
		if c != "discovery-worker" && c != "ingress" && redis != "" {
			t.Errorf("%s reads no Redis but is given %s", c, redis)
		}
	}
	dw := r.env(t, r.deployment(t, "discovery-worker").Spec.Template.Spec.Containers[0])
	want := map[string]string{
		"REDIS_SENTINEL_MASTER":   "inthub",
		"REDIS_SENTINEL_ADDRS":    "redis-sentinel-0.redis.redis.svc.cluster.local:26379,redis-sentinel-1.redis.redis.svc.cluster.local:26379,redis-sentinel-2.redis.redis.svc.cluster.local:26379",
		"REDIS_USERNAME":          "inthub",
		"REDIS_PASSWORD":          "secret:inthub-redis/REDIS_PASSWORD",
		"REDIS_SENTINEL_PASSWORD": "secret:inthub-redis/REDIS_SENTINEL_PASSWORD",
	}
	for k, v := range want {
		if dw[k] != v {
			t.Errorf("discovery-worker: %s = %q, want %q", k, dw[k], v)
		}
	}
	if _, ok := dw["REDIS_URL"]; ok {
		t.Errorf("discovery-worker: REDIS_URL beside Sentinel")
	}
	ing := r.env(t, r.deployment(t, "ingress").Spec.Template.Spec.Containers[0])
	if !sameEnv(ing, dw, "REDIS_") {
		t.Errorf("ingress: Redis %s, want the discovery-worker's %s", fmtEnv(ing, "REDIS_"), fmtEnv(dw, "REDIS_"))
	}
	if ing["INTHUB_OIDC_ISSUER"] != "https://login.example.com/realms/hub" || ing["INTHUB_OIDC_AUDIENCE"] != "inthub" || ing["INTHUB_TOKENS_FILE"] == "" {
		t.Errorf("ingress: OIDC %s, tokens file %q", fmtEnv(ing, "INTHUB_OIDC_"), ing["INTHUB_TOKENS_FILE"])
	}

	// autoscaled: the ingress and the discovery workers
	for _, c := range []string{"ingress", "discovery-worker"} {
		if _, ok := r.hpas[releaseName+"-inthub-"+c]; !ok {
			t.Errorf("no HPA for %s", c)
		}
	}
	// one ServiceMonitor scraping every service's metrics listener
	if len(r.monitors) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(r.monitors))
	}
	for _, sm := range r.monitors {
		if sm.Labels["release"] != "kube-prometheus-stack" {
			t.Errorf("ServiceMonitor labels %v: Prometheus selects it by release", sm.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" {
			t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
		}
		sel := sm.Spec.Selector
		scraped := map[string]bool{}
		for _, svc := range r.services {
			if selects(t, &sel, svc.Labels) {
				if svc.Spec.Ports[0].Name != "metrics" {
					t.Errorf("ServiceMonitor selects Service %s, whose first port is %s", svc.Name, svc.Spec.Ports[0].Name)
				}
				for _, c := range components {
					if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(r.deployment(t, c).Spec.Template.Labels)) {
						scraped[c] = true
					}
				}
			}
		}
		if len(scraped) != len(components) {
			t.Errorf("the ServiceMonitor scrapes %v, want every service", scraped)
		}
	}

	// Network: the manager reaches DNS and NATS only; the services that call
	// the integrations' systems reach them on 443 only.
	np := func(c string) *networkingv1.NetworkPolicy { return r.netpols[releaseName+"-inthub-"+c] }
	for _, rule := range np("manager").Spec.Egress {
		for _, p := range rule.Ports {
			if port := p.Port.IntValue(); port != 53 && port != 4222 {
				t.Errorf("manager egress on port %d", port)
			}
		}
		if len(rule.Ports) == 0 {
			t.Errorf("manager egress rule on every port: %+v", rule)
		}
	}
	for _, c := range []string{"health-scheduler", "discovery-worker", "notifier", "pipeline-runner", "metrics-analyzer", "ingress"} {
		external := false
		for _, rule := range np(c).Spec.Egress {
			if len(rule.Ports) == 0 {
				t.Errorf("%s egress on every port despite externalPorts", c)
			}
			for _, p := range rule.Ports {
				if p.Port.IntValue() == 443 {
					external = true
				}
			}
		}
		if !external {
			t.Errorf("%s cannot reach HTTPS (its integrations' systems or the OIDC issuer)", c)
		}
	}
	for _, c := range []string{"discovery-worker", "ingress"} {
		redisRule := false
		for _, rule := range np(c).Spec.Egress {
			for _, p := range rule.Ports {
				if p.Port.IntValue() == 26379 && len(rule.To) == 1 && rule.To[0].NamespaceSelector != nil {
					redisRule = true
				}
			}
		}
		if !redisRule {
			t.Errorf("%s cannot reach the sentinels in the redis namespace", c)
		}
	}
	ingressFrom := np("ingress").Spec.Ingress
	if len(ingressFrom) != 2 || len(ingressFrom[0].From) != 1 || ingressFrom[0].Ports[0].Port.String() != "http" {
		t.Errorf("ingress NetworkPolicy ingress rules %+v, want the API from ingress-nginx and metrics from monitoring", ingressFrom)
	}
}

// TestChartRedisModes: the discovery cache on each Redis topology reaches
// only the discovery-worker and the ingress (which answers cache hits from
// it), with the variables their loader reads.
func TestChartRedisModes(t *testing.T) {
	t.Parallel()
	base := valuesFile(t, "values.yaml")
	cases := []struct {
		name string
		set  map[string]any
		want map[string]string // "" : must be absent
	}{
		{"none", nil, map[string]string{"REDIS_URL": "", "REDIS_SENTINEL_MASTER": "", "REDIS_CLUSTER_ADDRS": ""}},
		{"standalone", map[string]any{"redis.mode": "standalone", "redis.url": "redis://:pw@redis.redis:6379/0"},
			map[string]string{"REDIS_URL": "secret:hub-inthub-redis/REDIS_URL", "REDIS_SENTINEL_MASTER": "", "REDIS_PASSWORD": ""}},
		{"sentinel", map[string]any{"redis.mode": "sentinel", "redis.sentinel.master": "mymaster", "redis.sentinel.addrs": []any{"s1:26379", "s2:26379"}, "redis.password": "pw"},
			map[string]string{"REDIS_SENTINEL_MASTER": "mymaster", "REDIS_SENTINEL_ADDRS": "s1:26379,s2:26379", "REDIS_PASSWORD": "secret:hub-inthub-redis/REDIS_PASSWORD", "REDIS_URL": ""}},
		{"cluster", map[string]any{"redis.mode": "cluster", "redis.cluster.addrs": []any{"c1:6379", "c2:6379", "c3:6379"}, "redis.username": "hub"},
			map[string]string{"REDIS_CLUSTER_ADDRS": "c1:6379,c2:6379,c3:6379", "REDIS_USERNAME": "hub", "REDIS_URL": "", "REDIS_SENTINEL_MASTER": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderIndexed(t, merge(base, tc.set))
			checkPolicy(t, r, releaseName+"-inthub-tokens")
			env := r.env(t, r.deployment(t, "discovery-worker").Spec.Template.Spec.Containers[0])
			for k, v := range tc.want {
				got, ok := env[k]
				if v == "" && ok {
					t.Errorf("%s = %q, want it unset", k, got)
				} else if v != "" && got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if s := r.secrets["hub-inthub-redis"]; tc.name == "standalone" && (s == nil || s.StringData["REDIS_URL"] != "redis://:pw@redis.redis:6379/0") {
				t.Errorf("the Redis Secret does not hold REDIS_URL: %+v", s)
			}
			for _, c := range components {
				s := fmtEnv(r.env(t, r.deployment(t, c).Spec.Template.Spec.Containers[0]), "REDIS_")
				switch c {
				case "discovery-worker":
				case "ingress": // answers discovery cache hits from the same Redis
					if !sameEnv(r.env(t, r.deployment(t, c).Spec.Template.Spec.Containers[0]), env, "REDIS_") {
						t.Errorf("ingress is given %s, want the discovery-worker's %s", s, fmtEnv(env, "REDIS_"))
					}
				default:
					if s != "" {
						t.Errorf("%s is given %s", c, s)
					}
				}
			}
		})
	}
}

// TestChartTokens: token hashes become the ingress's tokens file, in a
// Secret; with only an OIDC issuer there is no tokens file at all.
func TestChartTokens(t *testing.T) {
	t.Parallel()
	base := valuesFile(t, "values.yaml")
	t.Run("hashes in a Secret", func(t *testing.T) {
		t.Parallel()
		r := renderIndexed(t, merge(base, map[string]any{"tokens.list": []any{map[string]any{
			"name": "ci", "tenantId": "0193a0b4-0000-7000-8000-00000000000a", "sha256": exampleHash, "roles": []any{"operator"},
		}}}))
		checkPolicy(t, r)
		s := r.secrets["hub-inthub-tokens"]
		if s == nil {
			t.Fatal("no tokens Secret")
		}
		var doc struct {
			Tokens []struct {
				Name, TenantID, SHA256 string
				Roles                  []string
			}
		}
		if err := json.Unmarshal([]byte(s.StringData["tokens.json"]), &doc); err != nil {
			t.Fatalf("tokens.json: %v", err)
		}
		if len(doc.Tokens) != 1 || doc.Tokens[0].SHA256 != exampleHash || doc.Tokens[0].TenantID != "0193a0b4-0000-7000-8000-00000000000a" || doc.Tokens[0].Roles[0] != "operator" {
			t.Errorf("tokens.json %+v", doc)
		}
	})
	t.Run("OIDC only", func(t *testing.T) {
		t.Parallel()
		r := renderIndexed(t, merge(base, map[string]any{"oidc.issuer": "https://login.example.com", "oidc.audience": "hub"}))
		checkPolicy(t, r)
		pod := r.deployment(t, "ingress").Spec.Template.Spec
		env := r.env(t, pod.Containers[0])
		if _, ok := env["INTHUB_TOKENS_FILE"]; ok {
			t.Error("INTHUB_TOKENS_FILE without tokens: the ingress would refuse an empty file")
		}
		for _, v := range pod.Volumes {
			if v.Name == "tokens" {
				t.Error("a tokens volume without tokens")
			}
		}
		// the issuer is outside the cluster: the ingress may reach it
		anywhere := false
		for _, rule := range r.netpols["hub-inthub-ingress"].Spec.Egress {
			if len(rule.Ports) == 0 && len(rule.To) == 0 {
				anywhere = true
			}
		}
		if !anywhere {
			t.Error("the ingress's NetworkPolicy does not let it reach the OIDC issuer")
		}
	})
}

// TestChartLint: `helm lint` and `helm lint -f values-production.yaml`
// through the SDK's linter report neither an error nor a warning.
func TestChartLint(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"", "values-production.yaml"} {
		var vals map[string]any
		if file != "" {
			vals = valuesFile(t, file)
		}
		res := lint.RunAll(chartDir, vals, namespace)
		if len(res.Messages) == 0 && file == "" {
			t.Logf("lint %s: no message", file)
		}
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("lint %s: %s", file, m.Error())
			} else {
				t.Logf("lint %s: %s", file, m.Error())
			}
		}
	}
}

// sameEnv reports whether a and b set the same variables with prefix, to
// the same values.
func sameEnv(a, b map[string]string, prefix string) bool {
	pick := func(env map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range env {
			if strings.HasPrefix(k, prefix) {
				out[k] = v
			}
		}
		return out
	}
	return maps.Equal(pick(a), pick(b))
}
