package devstack_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault/vaultfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
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
			DataDir: t.TempDir(), Addr: "127.0.0.1:0", Ready: ready,
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Policy: httpx.GuardPolicy{AllowPrivate: true},
			Local:  local,
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
	if _, err := nc.Subscribe(">", func(m *nats.Msg) {
		busMu.Lock()
		defer busMu.Unlock()
		bus = append(bus, fmt.Sprintf("%s %v %s", m.Subject, m.Header, m.Data))
	}); err != nil {
		t.Fatal(err)
	}

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

	metrics, err := http.Get("http://" + info.HTTPAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
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
