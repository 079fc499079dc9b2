package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault/vaultfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/natstest"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// lockedBuffer collects log output from every service goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsNeverLeak runs a whole scenario — a Vault secret store, a real
// Docker Registry whose password lives in Vault, on-demand tests, scheduled
// checks, a rotation and a failure — with distinctive secret values, and
// then searches everything the hub produced: its logs, every message on the
// bus (commands, events, KV writes, replies), every HTTP response, the KV
// buckets and the metrics. None may contain a secret.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		vaultToken  = "hvs.LEAK-CANARY-vault-token-5f3a9c"
		regPassword = "LEAK-CANARY-registry-password-81d2"
		rotated     = "LEAK-CANARY-rotated-password-c47e"
	)
	secrets := []string{vaultToken, regPassword, rotated}

	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{"ci": regPassword}})
	vf := vaultfake.Start(t)
	vf.EnableKV("", "secret", 2)
	vf.AddToken("", vaultToken, vaultfake.TokenOptions{Policies: []string{"root"}, TTL: time.Hour, Renewable: true})
	vf.Put("", "secret", "docker/registry", map[string]any{"username": "ci", "password": regPassword})

	local, _ := localSecrets(t, map[string]string{"INTHUB_SECRET_DEV_VAULT": vaultToken})
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan devstack.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- devstack.Run(ctx, devstack.Config{
			DataDir: t.TempDir(), Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", Ready: ready,
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Policy: httpx.GuardPolicy{AllowPrivate: true},
			Local:  &local,
		})
	}()
	info := <-ready
	t.Cleanup(func() { cancel(); <-done })

	// Everything on the bus, from the start.
	nc, err := nats.Connect(info.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var busMu sync.Mutex
	var bus []string
	natstest.Subscribe(t, nc, ">", func(m *nats.Msg) {
		busMu.Lock()
		defer busMu.Unlock()
		bus = append(bus, fmt.Sprintf("%s %v %s", m.Subject, m.Header, m.Data))
	})

	var responses []string
	call := func(method, path string, body any, headers ...string) response {
		s := &stack{t: t, base: "http://" + info.HTTPAddr, info: info}
		r := s.call(method, path, info.Token, body, headers...)
		responses = append(responses, fmt.Sprintf("%d %v %s", r.status, r.header, r.body))
		return r
	}
	r := call("POST", "/api/v1/integrations", map[string]any{
		"typeId": "hashicorp-vault", "name": "vault-1",
		"config":        map[string]any{"url": vf.URL, "mountPath": "secret", "kvVersion": "2", "authMethod": "token", "canaryPath": "docker/registry"},
		"credentialRef": "env://INTHUB_SECRET_DEV_VAULT",
	})
	var store contracts.Integration
	r.decode(&store)
	if r.status != 201 {
		t.Fatalf("create vault: %d %s", r.status, r.body)
	}
	r = call("POST", "/api/v1/integrations", map[string]any{
		"typeId": "docker-registry", "name": "registry",
		"config":        map[string]any{"url": reg.URL},
		"credentialRef": "vault://" + store.ID + "/docker/registry",
	})
	var registry contracts.Integration
	r.decode(&registry)
	if r.status != 201 {
		t.Fatalf("create registry: %d %s", r.status, r.body)
	}
	for _, id := range []string{store.ID, registry.ID} {
		r = call("POST", "/api/v1/integrations/"+id+"/test", nil)
		var res contracts.TestResponse
		r.decode(&res)
		if r.status != 200 || !res.Success {
			t.Fatalf("test of %s: %d %s", id, r.status, r.body)
		}
	}
	// A rotation the registry does not know yet, then a secret store that
	// cannot log in: failures carry messages, and those must not carry secrets.
	vf.Put("", "secret", "docker/registry", map[string]any{"username": "ci", "password": rotated})
	vf.RevokeToken("", vaultToken)
	if _, err := nc.Request("inthub.manager.providers.list", []byte(`{}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	call("PATCH", "/api/v1/integrations/"+registry.ID, `{"description":"rotated"}`)
	call("POST", "/api/v1/integrations/"+registry.ID+"/test", nil)
	call("POST", "/api/v1/integrations/"+store.ID+"/test", nil)
	call("GET", "/api/v1/integrations", nil)
	call("GET", "/api/v1/integrations/"+registry.ID, nil)
	time.Sleep(500 * time.Millisecond) // let the immediate checks after the change land

	metrics, err := http.Get("http://" + info.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if metrics.StatusCode != http.StatusOK {
		t.Fatalf("metrics answered %d: the leak check would read nothing", metrics.StatusCode)
	}
	mb, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()

	js, _ := jetstream.New(nc)
	var kvDump []string
	for _, bucket := range []string{"integrations", "health"} {
		kv, err := js.KeyValue(context.Background(), bucket)
		if err != nil {
			continue
		}
		keys, _ := kv.ListKeys(context.Background())
		for k := range keys.Keys() {
			if e, err := kv.Get(context.Background(), k); err == nil {
				kvDump = append(kvDump, string(e.Value()))
			}
		}
	}

	busMu.Lock()
	busText := strings.Join(bus, "\n")
	busMu.Unlock()
	places := map[string]string{
		"logs": logs.String(), "bus": busText, "HTTP responses": strings.Join(responses, "\n"),
		"KV buckets": strings.Join(kvDump, "\n"), "metrics": string(mb),
	}
	if len(busText) == 0 || len(logs.String()) == 0 || len(kvDump) == 0 {
		t.Fatal("the scenario produced no bus traffic, logs or KV entries to search")
	}
	for where, text := range places {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain a secret (%s…)", where, secret[:12])
			}
		}
	}
}

// TestEchoedSecretsNeverLeak points a registry, a GitLab, a webhook and an
// email integration at servers that echo the credentials they receive (an
// HTTP server quoting headers and body, an SMTP server quoting the AUTH
// line), runs tests, discoveries, scheduled checks and notifications through
// the running hub, and searches its answers, events (INTHUB_EVENTS and the
// whole bus), the health KV bucket, logs and metrics for every secret form.
func TestEchoedSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	echo := connectortest.StartEchoHTTP(t)
	smtpEcho := connectortest.StartEchoSMTP(t, echo)
	secret := func(n int) string { return fmt.Sprintf("Ec/ho s%d+&LeakCore%02d=\"z", n, n) }
	basic := func(n int) string {
		b, _ := json.Marshal(map[string]string{"username": "echo-user", "password": secret(n)})
		return string(b)
	}
	env := map[string]string{
		"INTHUB_SECRET_DEV_REGISTRY": basic(11),
		"INTHUB_SECRET_DEV_GITLAB":   `{"token":` + strconv.Quote(secret(12)) + `}`,
		"INTHUB_SECRET_DEV_HOOK":     secret(13),
		"INTHUB_SECRET_DEV_SIGNING":  secret(14),
		"INTHUB_SECRET_DEV_SMTP":     basic(15),
	}

	local, _ := localSecrets(t, env)
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan devstack.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- devstack.Run(ctx, devstack.Config{
			DataDir: t.TempDir(), Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", Ready: ready,
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Policy: httpx.GuardPolicy{AllowPrivate: true},
			Local:  &local,
			Intervals: healthscheduler.Intervals{Connectivity: 300 * time.Millisecond, Authentication: 400 * time.Millisecond,
				Functionality: 500 * time.Millisecond},
		})
	}()
	info := <-ready
	t.Cleanup(func() { cancel(); <-done })

	nc, err := nats.Connect(info.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var busMu sync.Mutex
	var bus []string
	natstest.Subscribe(t, nc, ">", func(m *nats.Msg) {
		busMu.Lock()
		defer busMu.Unlock()
		bus = append(bus, fmt.Sprintf("%s %v %s", m.Subject, m.Header, m.Data))
	})
	busHas := func(prefix string) bool {
		busMu.Lock()
		defer busMu.Unlock()
		for _, m := range bus {
			if strings.HasPrefix(m, prefix) {
				return true
			}
		}
		return false
	}

	s := &stack{t: t, base: "http://" + info.HTTPAddr, info: info}
	var responses []string
	call := func(method, path string, body any) response {
		r := s.call(method, path, info.Token, body)
		responses = append(responses, fmt.Sprintf("%d %v %s", r.status, r.header, r.body))
		return r
	}
	labels := map[string]string{"leak": "echo"}
	create := func(body map[string]any) contracts.Integration {
		t.Helper()
		body["labels"] = labels
		r := call("POST", "/api/v1/integrations", body)
		if r.status != http.StatusCreated {
			t.Fatalf("create %v: %d %s", body["typeId"], r.status, r.body)
		}
		var it contracts.Integration
		r.decode(&it)
		return it
	}
	registry := create(map[string]any{"typeId": "docker-registry", "name": "echo registry",
		"config": map[string]any{"url": echo.URL, "caCert": echo.CAPEM}, "credentialRef": "env://INTHUB_SECRET_DEV_REGISTRY"})
	gitlab := create(map[string]any{"typeId": "gitlab", "name": "echo gitlab",
		"config": map[string]any{"url": echo.URL, "caCert": echo.CAPEM}, "credentialRef": "env://INTHUB_SECRET_DEV_GITLAB"})
	hook := create(map[string]any{"typeId": "webhook", "name": "echo hook",
		"config":        map[string]any{"url": echo.URL + "/hook", "caCert": echo.CAPEM, "signingSecretRef": "env://INTHUB_SECRET_DEV_SIGNING"},
		"credentialRef": "env://INTHUB_SECRET_DEV_HOOK"})
	mail := create(map[string]any{"typeId": "email", "name": "echo mail",
		"config": map[string]any{"host": smtpEcho.Host, "port": smtpEcho.Port, "from": "bot@inthub.test", "to": []string{"oncall@inthub.test"},
			"caCert": echo.CAPEM}, "credentialRef": "env://INTHUB_SECRET_DEV_SMTP"})
	eventually(t, "the notification-rules endpoint", func() bool {
		return s.call("GET", "/api/v1/notification-rules", info.Token, nil).status != http.StatusServiceUnavailable
	})
	if r := call("POST", "/api/v1/notification-rules", map[string]any{
		"name":    "echo outages",
		"match":   map[string]any{"eventTypes": []string{"integration.health.changed"}, "labelSelector": "leak=echo"},
		"targets": []map[string]any{{"integrationId": hook.ID}, {"integrationId": mail.ID}},
	}); r.status != http.StatusCreated {
		t.Fatalf("create rule: %d %s", r.status, r.body)
	}

	for _, mode := range connectortest.EchoModes {
		echo.SetMode(mode)
		smtpEcho.AcceptAuth(mode.Status == http.StatusOK)
		for _, it := range []contracts.Integration{registry, gitlab, hook, mail} {
			call("POST", "/api/v1/integrations/"+it.ID+"/test", nil)
		}
		call("POST", "/api/v1/integrations/"+registry.ID+"/discover", map[string]any{"resourceType": "repositories"})
		call("POST", "/api/v1/integrations/"+registry.ID+"/discover", map[string]any{"resourceType": "tags", "filter": map[string]any{"repository": "echo/repo"}})
		call("POST", "/api/v1/integrations/"+gitlab.ID+"/discover", map[string]any{"resourceType": "projects"})
	}
	echo.SetMode(connectortest.EchoModes[0])
	smtpEcho.AcceptAuth(false)
	eventually(t, "health changes and failed notifications", func() bool {
		return busHas("integration.health.changed.") && busHas("notification.failed.")
	})
	time.Sleep(500 * time.Millisecond) // let retried deliveries and late checks land
	call("GET", "/api/v1/integrations", nil)

	metrics, err := http.Get("http://" + info.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if metrics.StatusCode != http.StatusOK {
		t.Fatalf("metrics answered %d: the leak check would read nothing", metrics.StatusCode)
	}
	mb, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()

	js, _ := jetstream.New(nc)
	var kvDump []string
	if kv, err := js.KeyValue(context.Background(), "health"); err == nil {
		keys, _ := kv.ListKeys(context.Background())
		for k := range keys.Keys() {
			if e, err := kv.Get(context.Background(), k); err == nil {
				kvDump = append(kvDump, string(e.Value()))
			}
		}
	}
	var events []string
	for _, m := range natstest.ReadStream(t, js, "INTHUB_EVENTS") {
		events = append(events, fmt.Sprintf("%s %v %s", m.Subject(), m.Headers(), m.Data()))
	}

	busMu.Lock()
	busText := strings.Join(bus, "\n")
	busMu.Unlock()
	places := map[string]string{
		"logs": logs.String(), "bus": busText, "INTHUB_EVENTS": strings.Join(events, "\n"),
		"HTTP responses": strings.Join(responses, "\n"), "health KV": strings.Join(kvDump, "\n"), "metrics": string(mb),
	}
	for where, text := range places {
		if text == "" {
			t.Fatalf("the scenario produced no %s to search", where)
		}
	}
	// The echo did reach the hub: the servers' answers are quoted.
	if !strings.Contains(places["HTTP responses"], "echo-user") || !strings.Contains(places["INTHUB_EVENTS"], "AUTH") {
		t.Fatalf("the echo servers' answers never reached the hub's texts:\n%s", places["HTTP responses"])
	}
	forms := connectortest.SecretForms(env)
	for where, text := range places {
		for _, form := range forms {
			if len(form) >= credentials.ScrubMinLen && strings.Contains(text, form) {
				i := strings.Index(text, form)
				t.Errorf("%s contain secret form %q: …%s…", where, form, text[max(0, i-80):min(len(text), i+len(form)+20)])
			}
		}
	}
}
