package discoveryworker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

const tenant = "0193a0b4-0000-7000-8000-00000000000a"

// env is an embedded JetStream with the integrations bucket, standing in for
// the manager (the bucket's writer and the lifecycle events' publisher) and
// for the ingress (commands out, completions in on a plain subscription).
type env struct {
	t   *testing.T
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	bus *bus.Bus

	// One subscription takes every completion and hands it to the caller
	// waiting for its request id, as the ingress does: a subscription per
	// caller would deliver every completion to every caller.
	mu      sync.Mutex
	waiters map[string]chan contracts.DiscoveryCompleted
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := natstest.Start(t)
	nc, js := natstest.Connect(t, s)
	b := natstest.Open(t, s, "test-client")
	kv, err := js.CreateOrUpdateKeyValue(context.Background(), catalog.IntegrationsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: s, nc: nc, js: js, kv: kv, bus: b, waiters: map[string]chan contracts.DiscoveryCompleted{}}
	natstest.Subscribe(t, nc, contracts.SubjectDiscoveryCompleted+".>", e.complete)
	return e
}

func (e *env) complete(msg *nats.Msg) {
	var done contracts.DiscoveryCompleted
	if err := json.Unmarshal(msg.Data, &done); err != nil {
		e.t.Errorf("completion on %s: %v", msg.Subject, err)
		return
	}
	e.mu.Lock()
	ch := e.waiters[done.RequestID]
	delete(e.waiters, done.RequestID)
	e.mu.Unlock()
	if ch != nil {
		ch <- done
	}
}

// put stores an integration as the manager would.
func (e *env) put(it contracts.Integration) contracts.Integration {
	e.t.Helper()
	if it.ID == "" {
		it.ID = uuid.NewString()
	}
	if it.TenantID == "" {
		it.TenantID = tenant
	}
	if it.Name == "" {
		it.Name = it.TypeID
	}
	b, _ := json.Marshal(it)
	rev, err := e.kv.Put(context.Background(), it.TenantID+"."+it.ID, b)
	if err != nil {
		e.t.Fatal(err)
	}
	it.Revision = rev
	return it
}

// update stores a new revision and announces it, as the manager does.
func (e *env) update(it contracts.Integration) contracts.Integration {
	e.t.Helper()
	it = e.put(it)
	e.announce(contracts.SubjectUpdated, it)
	return it
}

func (e *env) announce(prefix string, it contracts.Integration) {
	e.t.Helper()
	_, err := e.bus.Publisher().Publish(context.Background(), bus.Event{
		Subject: contracts.Subject(prefix, it.TenantID, it.ID), TenantID: it.TenantID, DataSubject: it.ID,
		Data: contracts.LifecycleEvent{EventID: uuid.NewString(), TenantID: it.TenantID, Integration: it, OccurredAt: time.Now()},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// start runs a worker replica until the test ends; it returns the
// replica's metrics.
func (e *env) start(cfg discoveryworker.Config) *prometheus.Registry {
	e.t.Helper()
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	cfg.Bus = natstest.Config(e.srv, "discovery-worker")
	cfg.Ready = ready
	cfg.Metrics = reg
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	go func() { done <- discoveryworker.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		e.t.Fatalf("discovery-worker: %v", err)
	case <-time.After(15 * time.Second):
		cancel()
		e.t.Fatal("discovery-worker did not start")
	}
	var once sync.Once
	e.t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("discovery-worker: %v", err)
			}
		})
	})
	return reg
}

// discover publishes a command and waits for its completion, as the
// ingress does.
func (e *env) discover(it contracts.Integration, req contracts.DiscoveryRequest) contracts.DiscoveryCompleted {
	e.t.Helper()
	done, err := e.tryDiscover(it, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return done
}

func (e *env) tryDiscover(it contracts.Integration, req contracts.DiscoveryRequest) (contracts.DiscoveryCompleted, error) {
	id := uuid.NewString()
	ch := make(chan contracts.DiscoveryCompleted, 1)
	e.mu.Lock()
	e.waiters[id] = ch
	e.mu.Unlock()
	if _, err := e.bus.Publisher().Publish(context.Background(), bus.Event{
		ID: "discovery-request:" + id, Subject: contracts.Subject(contracts.SubjectDiscoveryRequested, it.TenantID, it.ID),
		TenantID: it.TenantID, DataSubject: it.ID,
		Data: contracts.DiscoveryRequested{RequestID: id, TenantID: it.TenantID, IntegrationID: it.ID, Request: req},
	}); err != nil {
		return contracts.DiscoveryCompleted{}, err
	}
	select {
	case done := <-ch:
		return done, nil
	case <-time.After(20 * time.Second):
		return contracts.DiscoveryCompleted{}, fmt.Errorf("no completion of request %s within 20s", id)
	}
}

// result fails the test unless the discovery succeeded.
func result(t *testing.T, done contracts.DiscoveryCompleted) contracts.DiscoveryResult {
	t.Helper()
	if done.Error != nil || done.Result == nil {
		t.Fatalf("discovery failed: %+v", done.Error)
	}
	return *done.Result
}

// errorOf fails the test unless the discovery failed with code.
func errorOf(t *testing.T, done contracts.DiscoveryCompleted, code string) contracts.ErrorBody {
	t.Helper()
	if done.Error == nil || done.Error.Code != code {
		t.Fatalf("discovery answered %+v / error %+v, want error %s", done.Result, done.Error, code)
	}
	return *done.Error
}

func names(items []contracts.Resource) []string {
	out := make([]string, len(items))
	for i, r := range items {
		out[i] = r.Name
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
