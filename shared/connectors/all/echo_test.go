package all_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// echoEnv is where a provider case points: an HTTPS echo server (URL, its
// CA in CA) and an SMTP echo server (SMTPHost:SMTPPort, same CA).
type echoEnv struct {
	URL, CA  string
	SMTPHost string
	SMTPPort int
}

// echoCase is one way to configure a provider: its config (beyond caCert
// and timeout), credentialRef, and the secrets behind its env:// refs.
type echoCase struct {
	name          string
	config        map[string]any
	credentialRef string
	// secrets maps env variable names to their values (JSON objects or
	// plain strings, as credentials.LocalResolver reads them).
	secrets map[string]string
}

// Secret values hold a slash, spaces and characters that need escaping in
// URLs and JSON, and a "LeakCore" marker checked on its own, so that half a
// secret left by a split or a cut is caught too.
func secretValue(n int) string { return fmt.Sprintf("Se/cr et+%d&LeakCore%02dx=\"q", n, n) }

const echoUser = "echo-user"

func basicJSON(n int) string {
	b, _ := json.Marshal(map[string]string{"username": echoUser, "password": secretValue(n)})
	return string(b)
}

func keyJSON(field string, n int) string {
	b, _ := json.Marshal(map[string]string{field: secretValue(n)})
	return string(b)
}

func awsJSON(n int) string {
	b, _ := json.Marshal(map[string]string{"accessKeyId": "AKIAECHOTEST", "secretAccessKey": secretValue(n)})
	return string(b)
}

// echoTargets says, for every provider that takes a credential, how to point
// it at the echo servers. A provider without an entry fails the test.
var echoTargets = map[string]func(e echoEnv) []echoCase{
	"inmemory": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token field and basic", config: map[string]any{"token": "env://INTHUB_SECRET_A", "repositories": []any{"a/b"}},
			credentialRef: "env://INTHUB_SECRET_B", secrets: map[string]string{"INTHUB_SECRET_A": secretValue(1), "INTHUB_SECRET_B": basicJSON(2)}}}
	},
	"docker-registry": func(e echoEnv) []echoCase {
		cfg := map[string]any{"url": e.URL, "repository": "echo/repo"}
		return []echoCase{
			{name: "basic", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}},
			{name: "token", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 2)}},
		}
	},
	"harbor": func(e echoEnv) []echoCase {
		return []echoCase{{name: "robot account", config: map[string]any{"url": e.URL, "project": "echo"},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}}}
	},
	"docker-hub": func(e echoEnv) []echoCase {
		return []echoCase{{name: "personal access token", config: map[string]any{"hubUrl": e.URL, "registryUrl": e.URL, "namespace": "echo"},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}}}
	},
	"quay": func(e echoEnv) []echoCase {
		return []echoCase{{name: "api token", config: map[string]any{"url": e.URL, "namespace": "echo"},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"ghcr": func(e echoEnv) []echoCase {
		return []echoCase{{name: "personal access token", config: map[string]any{"apiUrl": e.URL, "registryUrl": e.URL, "owner": "echo"},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"jfrog": func(e echoEnv) []echoCase {
		return []echoCase{{name: "access token", config: map[string]any{"url": e.URL, "repository": "echo-local", "username": echoUser},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"nexus": func(e echoEnv) []echoCase {
		return []echoCase{{name: "username and password", config: map[string]any{"url": e.URL, "repository": "echo-hosted"},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}}}
	},
	"ecr": func(e echoEnv) []echoCase {
		return []echoCase{{name: "access keys", config: map[string]any{"region": "eu-west-1", "url": e.URL, "registryUrl": e.URL},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": awsJSON(1)}}}
	},
	"gcr": func(e echoEnv) []echoCase {
		return []echoCase{{name: "service account", config: map[string]any{"project": "echo-project", "location": "europe-west1", "repository": "echo",
			"url": e.URL, "registryUrl": e.URL, "tokenUrl": e.URL + "/token"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": serviceAccountJSON(e.URL)}}}
	},
	"acr": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "admin user", config: map[string]any{"url": e.URL}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}},
			{name: "client secret", config: map[string]any{"url": e.URL, "authMethod": "clientSecret", "tenantId": "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
				"clientId": "0f1e2d3c-aaaa-bbbb-cccc-000000000002", "authorityHost": e.URL + "/"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("clientSecret", 2)}},
		}
	},
	"prometheus": func(e echoEnv) []echoCase {
		cfg := map[string]any{"url": e.URL}
		return []echoCase{
			{name: "basic", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}},
			{name: "token", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": secretValue(2)}},
		}
	},
	"webhook": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "token and signing secret", config: map[string]any{"url": e.URL + "/hook", "signingSecretRef": "env://INTHUB_SECRET_S"},
				credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1), "INTHUB_SECRET_S": secretValue(2)}},
			{name: "basic", config: map[string]any{"url": e.URL + "/hook"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(3)}},
			{name: "api key", config: map[string]any{"url": e.URL + "/hook"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("apiKey", 4)}},
		}
	},
	"teams": func(e echoEnv) []echoCase {
		return []echoCase{{name: "webhook URL", config: map[string]any{"webhookUrlRef": "env://INTHUB_SECRET_A"},
			secrets: map[string]string{"INTHUB_SECRET_A": e.URL + "/webhookb2/LeakCoreTeams-" + url.PathEscape(secretValue(1)) + "/IncomingWebhook/x"}}}
	},
	"email": func(e echoEnv) []echoCase {
		cfg := func(mech string) map[string]any {
			return map[string]any{"host": e.SMTPHost, "port": float64(e.SMTPPort), "security": "starttls", "from": "hub@example.com",
				"to": []any{"ops@example.com"}, "authMechanism": mech}
		}
		return []echoCase{
			{name: "plain", config: cfg("plain"), credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}},
			{name: "login", config: cfg("login"), credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(2)}},
		}
	},
	"pagerduty": func(e echoEnv) []echoCase {
		return []echoCase{{name: "routing and api key", config: map[string]any{"routingKeyRef": "env://INTHUB_SECRET_R", "eventsUrl": e.URL, "apiUrl": e.URL},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_R": secretValue(1), "INTHUB_SECRET_A": keyJSON("apiKey", 2)}}}
	},
	"datadog": func(e echoEnv) []echoCase {
		b, _ := json.Marshal(map[string]string{"apiKey": secretValue(1), "appKey": secretValue(2)})
		return []echoCase{{name: "api and application keys", config: map[string]any{"url": e.URL},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": string(b)}}}
	},
	"dynatrace": func(e echoEnv) []echoCase {
		return []echoCase{{name: "api token", config: map[string]any{"url": e.URL},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"newrelic": func(e echoEnv) []echoCase {
		return []echoCase{{name: "user api key", config: map[string]any{"url": e.URL, "accountId": float64(1234567)},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("apiKey", 1)}}}
	},
	"opsgenie": func(e echoEnv) []echoCase {
		return []echoCase{{name: "api key", config: map[string]any{"url": e.URL, "schedule": "echo-schedule"},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("apiKey", 1)}}}
	},
	"gitlab": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "private token", config: map[string]any{"url": e.URL}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}},
			{name: "bearer", config: map[string]any{"url": e.URL, "tokenType": "bearer"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("access_token", 2)}},
		}
	},
	"gitlab-ci": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token", config: map[string]any{"url": e.URL, "projectId": "42"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"github": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "token of an owner", config: map[string]any{"url": e.URL, "owner": "echo"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}},
			{name: "token without owner", config: map[string]any{"url": e.URL}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 2)}},
		}
	},
	"gitea": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "token of an owner", config: map[string]any{"url": e.URL, "owner": "echo"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}},
			{name: "token without owner", config: map[string]any{"url": e.URL}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 2)}},
		}
	},
	"github-actions": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token", config: map[string]any{"url": e.URL, "owner": "echo", "repo": "repo"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"azure-devops": func(e echoEnv) []echoCase {
		cfg := map[string]any{"url": e.URL, "organization": "echo", "project": "echo-project"}
		return []echoCase{
			{name: "token", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}},
			{name: "basic", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(2)}},
		}
	},
	"circleci": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token", config: map[string]any{"url": e.URL, "projectSlug": "gh/echo/repo"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"jenkins": func(e echoEnv) []echoCase {
		return []echoCase{{name: "basic", config: map[string]any{"url": e.URL}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}}}
	},
	"teamcity": func(e echoEnv) []echoCase {
		return []echoCase{{name: "access token", config: map[string]any{"url": e.URL, "project": "Echo"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"drone": func(e echoEnv) []echoCase {
		return []echoCase{{name: "personal token", config: map[string]any{"url": e.URL, "namespace": "echo"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"slack": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token", config: map[string]any{"url": e.URL + "/api", "defaultChannel": "#general"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"s3compatible": func(e echoEnv) []echoCase {
		cfg := map[string]any{"url": e.URL, "bucket": "echo-bucket"}
		return []echoCase{
			{name: "access keys", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": awsJSON(1)}},
			{name: "basic", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(2)}},
		}
	},
	"hashicorp-vault": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "token", config: map[string]any{"url": e.URL, "mountPath": "secret", "canaryPath": "canary"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}},
			{name: "approle", config: map[string]any{"url": e.URL, "mountPath": "secret", "authMethod": "approle", "roleId": "echo-role",
				"secretIdRef": "env://INTHUB_SECRET_S", "canaryPath": "canary"}, secrets: map[string]string{"INTHUB_SECRET_S": secretValue(2)}},
		}
	},
	"aws-secrets-manager": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "static", config: map[string]any{"region": "eu-west-1", "url": e.URL, "canarySecret": "canary"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": awsJSON(1)}},
			{name: "assume role", config: map[string]any{"region": "eu-west-1", "url": e.URL, "stsUrl": e.URL, "authMethod": "assumeRole",
				"roleArn": "arn:aws:iam::123456789012:role/echo"}, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": awsJSON(2)}},
		}
	},
	"azure-key-vault": func(e echoEnv) []echoCase {
		return []echoCase{{name: "client secret", config: map[string]any{"url": e.URL, "tenantId": "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
			"clientId": "0f1e2d3c-aaaa-bbbb-cccc-000000000002", "authorityHost": e.URL + "/", "skipChallengeResourceVerification": true,
			"canarySecret": "canary"}, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("clientSecret", 1)}}}
	},
	"gcp-secret-manager": func(e echoEnv) []echoCase {
		return []echoCase{{name: "service account", config: map[string]any{"project": "echo-project", "url": e.URL, "tokenUrl": e.URL + "/token",
			"canarySecret": "canary"}, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": serviceAccountJSON(e.URL)}}}
	},
}

var (
	saOnce sync.Once
	saKey  string
)

// serviceAccountJSON is a service-account key with a real RSA key (the
// connector signs its token request with it).
func serviceAccountJSON(tokenURL string) string {
	saOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		saKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	})
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "echo-project", "private_key_id": "LeakCoreKeyId-" + secretValue(9),
		"private_key": saKey, "client_email": "echo@echo-project.iam.gserviceaccount.com", "token_uri": tokenURL + "/token"})
	return string(b)
}

// echoResolver resolves env:// references from env only. It is the one
// place that knows how the test's references are resolved.
func echoResolver(env map[string]string) *credentials.Resolver {
	// The tenant is granted the name SECRET on the base INTHUB_, so its
	// env:// names are INTHUB_SECRET_*.
	policy, err := credentials.ParseLocalPolicy(echoTenant+"=SECRET", "INTHUB_", "/nonexistent")
	if err != nil {
		panic(err)
	}
	return &credentials.Resolver{Local: credentials.LocalResolver{
		Policy:    policy,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}}
}

// echoTenant owns every echo integration.
const echoTenant = "00000000-0000-4000-8000-00000000ec40"

// takesCredential reports whether a provider takes a credential: a
// credential type or a secret field of its own.
func takesCredential(s *connectors.Spec) bool {
	if len(s.CredentialTypes) > 0 {
		return true
	}
	for _, f := range s.Fields {
		if f.Secret {
			return true
		}
	}
	return false
}

// recordingMetrics keeps every label the pool's HTTP metrics were given.
type recordingMetrics struct {
	mu     sync.Mutex
	labels []string
}

func (m *recordingMetrics) ObserveRequest(host, code string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels = append(m.labels, host, code)
}

// runEverything runs every capability of conn that spec declares and
// returns every text that came back: error messages, ids, resource names
// and attributes. A secret store's values are the secret asked for and are
// left out; its errors are in.
func runEverything(ctx context.Context, conn connectors.Connector, spec *connectors.Spec) []string {
	var texts []string
	add := func(err error, s ...string) {
		if err != nil {
			texts = append(texts, err.Error())
		}
		texts = append(texts, s...)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if c, ok := connectors.AsChecker(conn); ok {
		// Both kinds of check: an explicit test may send what a scheduled
		// one must not (a webhook's signed test delivery).
		for _, cctx := range []context.Context{ctx, connectors.OnDemand(ctx)} {
			add(c.CheckConnectivity(cctx))
			add(c.CheckAuthentication(cctx))
			add(c.CheckFunctionality(cctx))
		}
	}
	if d, ok := connectors.AsDiscoverer(conn); ok {
		for _, rt := range spec.ResourceTypes {
			q := connectors.DiscoveryQuery{ResourceType: rt, Filter: contracts.DiscoveryFilter{Repository: "echo/repo"}, PageSize: 10}
			for page := 0; page < 2; page++ {
				p, err := d.Discover(ctx, q)
				b, _ := json.Marshal(p.Items)
				add(err, string(b), p.NextCursor)
				if err != nil || p.NextCursor == "" {
					break
				}
				q.Cursor = p.NextCursor
			}
		}
	}
	if n, ok := connectors.AsNotifier(conn); ok {
		id, err := n.Notify(ctx, connectors.Message{Severity: "critical", Title: "echo", Text: "echo text", ThreadKey: "echo-thread"})
		add(err, id)
	}
	if tr, ok := connectors.AsTriggerer(conn); ok {
		run, err := tr.Trigger(ctx, "build", "main", map[string]string{"k": "v"})
		add(err, run.ID)
		if f, ok := connectors.AsRunFollower(conn); ok && err == nil {
			st, err := f.RunStatus(ctx, run)
			add(err, st.Ref.ID)
		}
	}
	if q, ok := connectors.AsMetricsQuerier(conn); ok {
		res, err := q.Query(ctx, contracts.MetricsQuery{Query: "up"})
		add(err)
		for _, sr := range res.Series {
			add(nil, sr.Unit)
			for k, v := range sr.Labels {
				add(nil, k, v)
			}
		}
	}
	if r, ok := connectors.AsReactor(conn); ok {
		add(r.React(ctx, "C0123ECHO", "1700000000.000100", "white_check_mark"))
	}
	if sr, ok := connectors.AsSecretReader(conn); ok {
		_, err := sr.ReadSecret(ctx, "echo-secret")
		add(err)
	}
	return texts
}

func TestEchoedSecretsNeverLeaveAConnector(t *testing.T) {
	t.Parallel()
	specs := all.Specs()
	for _, spec := range specs {
		if !takesCredential(spec) {
			continue
		}
		target, ok := echoTargets[spec.ID]
		if !ok {
			t.Errorf("provider %s takes a credential but has no entry in echoTargets: say how to point it at the echo servers", spec.ID)
			continue
		}
		t.Run(spec.ID, func(t *testing.T) {
			t.Parallel()
			h := connectortest.StartEchoHTTP(t)
			smtpSrv := connectortest.StartEchoSMTP(t, h)
			env := echoEnv{URL: h.URL, CA: h.CAPEM, SMTPHost: smtpSrv.Host, SMTPPort: smtpSrv.Port}
			for _, tc := range target(env) {
				for _, mode := range connectortest.EchoModes {
					t.Run(tc.name+"/"+mode.Name, func(t *testing.T) {
						h.SetMode(mode)
						smtpSrv.AcceptAuth(mode.Status == http.StatusOK)
						metrics := &recordingMetrics{}
						pool := runtime.NewPool(connectors.NewRegistry(spec), echoResolver(tc.secrets), httpx.GuardPolicy{AllowPrivate: true}, metrics)
						defer pool.Close()
						cfg := map[string]any{"caCert": env.CA, "timeout": float64(5)}
						for k, v := range tc.config {
							cfg[k] = v
						}
						if err := spec.ValidateConfig(cfg); err != nil {
							t.Fatalf("config refused: %v", err)
						}
						it := contracts.Integration{ID: "echo-1", TenantID: echoTenant, TypeID: spec.ID, Revision: 1, Config: cfg, CredentialRef: tc.credentialRef}
						var texts []string
						conn, _, err := pool.Get(context.Background(), it)
						if err != nil {
							texts = append(texts, err.Error())
						} else {
							texts = append(texts, runEverything(context.Background(), conn, spec)...)
						}
						metrics.mu.Lock()
						texts = append(texts, metrics.labels...)
						metrics.mu.Unlock()
						for _, text := range texts {
							for _, form := range connectortest.SecretForms(tc.secrets) {
								if len(form) >= credentials.ScrubMinLen && strings.Contains(text, form) {
									t.Errorf("secret form %q left in %q", form, text)
								}
							}
						}
						if testing.Verbose() {
							for _, text := range texts {
								t.Logf("%.300s", text)
							}
						}
					})
				}
			}
		})
	}
}
