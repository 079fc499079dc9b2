package devstack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/notifier"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/natstest"
)

// authConfFile is the shipped NATS users file.
var authConfFile = filepath.Join("..", "..", "deployments", "nats", "auth.conf")

// deployments/nats/auth.conf is what the services' declarations derive
// (regenerate with go generate ./services/devstack).
func TestAuthConfIsCurrent(t *testing.T) {
	t.Parallel()
	have, err := os.ReadFile(authConfFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, devstack.AuthConf()) {
		t.Fatal("deployments/nats/auth.conf is stale: regenerate it with go generate ./services/devstack")
	}
}

// shippedNATS starts nats-server with deployments/nats/auth.conf as
// shipped, its passwords in the environment as an operator gives them, and
// returns its URL and the passwords by user.
func shippedNATS(t *testing.T) (string, map[string]string) {
	t.Helper()
	passwords := map[string]string{devstack.AdminUser: ""}
	for _, a := range devstack.Accesses() {
		passwords[a.Service] = ""
	}
	for user := range passwords {
		raw := make([]byte, 16)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		passwords[user] = hex.EncodeToString(raw)
		t.Setenv(devstack.PasswordVar(user), passwords[user])
	}
	opts, err := server.ProcessConfigFile(authConfFile)
	if err != nil {
		t.Fatalf("nats-server refuses %s: %v", authConfFile, err)
	}
	opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	opts.JetStream, opts.StoreDir = true, t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL(), passwords
}

// connectAs connects as user; its asynchronous errors (the server's
// permission violations) arrive on the returned channel.
func connectAs(t *testing.T, url, user, password string, opts ...nats.Option) (*nats.Conn, <-chan error) {
	t.Helper()
	errs := make(chan error, 16)
	opts = append(opts, nats.UserInfo(user, password), nats.CustomInboxPrefix(bus.InboxPrefix(user)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

// violation waits for the permission violation naming subject.
func violation(t *testing.T, errs <-chan error, subject string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case err := <-errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
				return
			}
			t.Logf("other error: %v", err)
		case <-timeout:
			t.Fatalf("no permissions violation for %s", subject)
		}
	}
}

// TestShippedPermissions runs the hub against nats-server configured with
// the shipped auth.conf, each service connecting as its own user: every
// service's part of the flows works (catalog, lifecycle events, on-demand
// test, discovery, notification rules and a delivery, pipeline runs,
// analysis runs, the operator's views) with no permission violation
// logged, and what a service's declarations do not allow is refused by the
// server.
func TestShippedPermissions(t *testing.T) {
	url, passwords := shippedNATS(t)
	identities := map[string]bus.Auth{}
	for _, a := range devstack.Accesses() {
		identities[a.Service] = bus.Auth{User: a.Service, Password: passwords[a.Service]}
	}
	var logs lockedBuffer
	hooks := make(chan string, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hooks <- r.URL.Path:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan devstack.Info, 1)
	done := make(chan error, 1)
	local, _ := localSecrets(t, nil)
	go func() {
		done <- devstack.Run(ctx, devstack.Config{
			DataDir: t.TempDir(), Addr: "127.0.0.1:0", Ready: ready, Local: &local,
			NATSURL: url, NATSIdentities: identities, Policy: httpx.GuardPolicy{AllowPrivate: true},
			Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
	}()
	var info devstack.Info
	select {
	case info = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("devstack: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("devstack did not start\n%s", logs.String())
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("devstack: %v", err)
		}
	})
	admin, _ := connectAs(t, url, devstack.AdminUser, passwords[devstack.AdminUser])
	js, _ := jetstream.New(admin)
	s := &stack{t: t, base: "http://" + info.HTTPAddr, info: info, js: js}
	tok := info.Token

	t.Run("every service's flow", func(t *testing.T) {
		events := natstest.SubscribeSync(t, admin, ">")
		// manager: create (and its lifecycle event, by the outbox), get, list.
		r := s.call("POST", "/api/v1/integrations", tok, map[string]any{"typeId": "inmemory", "name": "mem", "config": map[string]any{}})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var mem contracts.Integration
		r.decode(&mem)
		for _, path := range []string{"/api/v1/integrations/" + mem.ID, "/api/v1/integrations", "/api/v1/integrations/providers"} {
			if r := s.call("GET", path, tok, nil); r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
		}
		// health-scheduler: the on-demand test, awaited by the ingress.
		if r := s.call("POST", "/api/v1/integrations/"+mem.ID+"/test", tok, nil); r.status != 200 {
			t.Fatalf("test: %d %s", r.status, r.body)
		}
		// discovery-worker.
		if r := s.call("POST", "/api/v1/integrations/"+mem.ID+"/discover", tok, map[string]any{"resourceType": "repositories", "filter": map[string]any{}}); r.status != 200 {
			t.Fatalf("discover: %d %s", r.status, r.body)
		}
		// notifier: a rule through its endpoints, and a delivery it makes
		// of a notification.send.requested to a webhook.
		r = s.call("POST", "/api/v1/integrations", tok, map[string]any{"typeId": "webhook", "name": "hook", "config": map[string]any{"url": receiver.URL + "/hook"}})
		if r.status != 201 {
			t.Fatalf("create webhook: %d %s", r.status, r.body)
		}
		var hook contracts.Integration
		r.decode(&hook)
		r = s.call("POST", "/api/v1/notification-rules", tok, ruleBody("rule", hook.ID))
		if r.status != 201 {
			t.Fatalf("rule: %d %s", r.status, r.body)
		}
		var rule contracts.NotificationRule
		r.decode(&rule)
		if r := s.call("POST", "/api/v1/notification-rules/preview", tok, map[string]any{"eventTypes": []string{"notification.send.requested"}, "template": map[string]any{"title": "{{.Event.Title}}"}}); r.status != 200 {
			t.Fatalf("preview: %d %s", r.status, r.body)
		}
		if r := s.call("GET", "/api/v1/notification-rules", tok, nil); r.status != 200 {
			t.Fatalf("rules: %d %s", r.status, r.body)
		}
		cmd, _ := json.Marshal(contracts.NotificationSendRequested{RequestID: "perm-1", TenantID: devstack.DevTenantID,
			IntegrationID: hook.ID, Severity: "info", Title: "permissions"})
		if _, err := js.Publish(context.Background(), contracts.Subject(contracts.SubjectNotificationRequest, devstack.DevTenantID, hook.ID), cmd); err != nil {
			t.Fatal(err)
		}
		select {
		case <-hooks:
		case <-time.After(20 * time.Second):
			t.Fatal("the notifier delivered nothing")
		}
		// The rule's delivery history reads the deliveries bucket, which
		// now holds the direct delivery's record.
		if r := s.call("GET", "/api/v1/notification-rules/"+rule.ID+"/deliveries", tok, nil); r.status != 200 {
			t.Fatalf("deliveries: %d %s", r.status, r.body)
		}
		// pipeline-runner: reads of runs; metrics-analyzer: analysis runs
		// (refused for an integration that is no metrics provider, by the
		// analyzer itself).
		if r := s.call("GET", "/api/v1/integrations/"+mem.ID+"/runs", tok, nil); r.status >= 500 {
			t.Fatalf("runs: %d %s", r.status, r.body)
		}
		r = s.call("POST", "/api/v1/analysis-runs", tok, map[string]any{"metrics": []map[string]any{{"name": "m", "integrationId": mem.ID,
			"query": "up", "successCondition": "result[0] >= 1", "interval": "200ms", "count": 1}}})
		if r.status >= 500 {
			t.Fatalf("analysis run: %d %s", r.status, r.body)
		}
		// ingress: the operator's views of events and dead letters.
		for _, path := range []string{"/api/v1/operator/events", "/api/v1/operator/dlq"} {
			if r := s.call("GET", path, tok, nil); r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
		}
		// The bus saw each service's events.
		want := map[string]bool{contracts.SubjectCreated: false, contracts.SubjectTestCompleted: false,
			contracts.SubjectDiscoveryCompleted: false, contracts.SubjectNotificationSent: false}
		deadline := time.Now().Add(20 * time.Second)
		for missing := len(want); missing > 0 && time.Now().Before(deadline); {
			m, err := events.NextMsg(time.Until(deadline))
			if err != nil {
				break
			}
			if seen, ok := want[contracts.PrefixOf(m.Subject)]; ok && !seen {
				want[contracts.PrefixOf(m.Subject)] = true
				missing--
			}
		}
		for prefix, seen := range want {
			if !seen {
				t.Errorf("no %s event", prefix)
			}
		}
		if strings.Contains(strings.ToLower(logs.String()), "permissions violation") {
			t.Fatalf("a service met a permissions violation:\n%s", grepLines(logs.String(), "ermissions"))
		}
	})

	t.Run("what a service does not declare is refused", func(t *testing.T) {
		subject := contracts.Subject(contracts.SubjectCreated, devstack.DevTenantID, "x")
		tests := []struct {
			user, action, subject string
		}{
			// The notifier cannot announce a catalog change.
			{"notifier", "publish", subject},
			// The ingress cannot write the catalog behind the manager's back.
			{"ingress", "publish", "$KV." + catalog.BucketIntegrations + ".x"},
			// nor read a bucket it does not use.
			{"ingress", "publish", "$JS.API.STREAM.INFO.KV_" + notifier.BucketRules},
			// The health-scheduler cannot ask for discoveries.
			{"health-scheduler", "publish", contracts.Subject(contracts.SubjectDiscoveryRequested, devstack.DevTenantID, "x")},
			// The discovery-worker cannot dead-letter another route's subject.
			{"discovery-worker", "publish", bus.DLQPrefix + "." + contracts.Subject(contracts.SubjectTestRequested, devstack.DevTenantID, "x")},
			// The notifier cannot serve the manager's endpoints.
			{"notifier", "subscribe", catalog.SubjectCreate},
			// The pipeline-runner cannot read another service's replies.
			{"pipeline-runner", "subscribe", "_INBOX.ingress.>"},
			// The metrics-analyzer cannot listen to the catalog's changes.
			{"metrics-analyzer", "subscribe", "$KV." + catalog.BucketHealth + ".>"},
		}
		for _, tc := range tests {
			t.Run(tc.user+" "+tc.action+" "+tc.subject, func(t *testing.T) {
				nc, errs := connectAs(t, url, tc.user, passwords[tc.user], nats.PermissionErrOnSubscribe(true))
				switch tc.action {
				case "publish":
					if err := nc.Publish(tc.subject, []byte("{}")); err != nil {
						t.Fatal(err)
					}
					if err := nc.Flush(); err != nil {
						t.Fatal(err)
					}
					violation(t, errs, tc.subject)
				case "subscribe":
					sub, err := nc.SubscribeSync(tc.subject)
					if err != nil {
						t.Fatal(err)
					}
					if err := nc.Flush(); err != nil {
						t.Fatal(err)
					}
					violation(t, errs, tc.subject)
					if _, err := sub.NextMsg(time.Second); !errors.Is(err, nats.ErrPermissionViolation) {
						t.Fatalf("NextMsg: %v, want a permissions violation", err)
					}
				}
			})
		}
		// Through the JetStream API: the ingress's identity cannot open a
		// bucket it does not read, the notifier's cannot publish a
		// lifecycle event.
		nc, errs := connectAs(t, url, "ingress", passwords["ingress"])
		ijs, _ := jetstream.New(nc)
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer ccancel()
		if _, err := ijs.KeyValue(cctx, notifier.BucketRules); err == nil {
			t.Fatal("the ingress opened the notification rules bucket")
		}
		violation(t, errs, "$JS.API.STREAM.INFO.KV_"+notifier.BucketRules)
		nc, errs = connectAs(t, url, "notifier", passwords["notifier"])
		njs, _ := jetstream.New(nc)
		pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer pcancel()
		if _, err := njs.Publish(pctx, subject, []byte("{}")); err == nil {
			t.Fatal("the notifier published integration.created")
		}
		violation(t, errs, subject)
		// A wrong password is no identity at all.
		if nc, err := nats.Connect(url, nats.UserInfo("manager", "not-its-password")); err == nil {
			nc.Close()
			t.Fatal("connected with a wrong password")
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Fatalf("wrong password: %v", err)
		}
	})
}

// grepLines are the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
