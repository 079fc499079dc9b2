package metricsanalyzer_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	metricsanalyzer "github.com/stella-ops/inthub/services/metrics-analyzer"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/metrics/prometheus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/natstest"
)

const tenant = "0193a0b4-0000-7000-8000-00000000000b"

// env is an embedded JetStream with the integrations bucket, standing in
// for the manager (the bucket's writer) and the ingress (commands out,
// answers in on a plain subscription).
type env struct {
	t   *testing.T
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	bus *bus.Bus
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := natstest.Start(t)
	nc, js := natstest.Connect(t, s)
	kv, err := js.CreateOrUpdateKeyValue(context.Background(), catalog.IntegrationsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: s, nc: nc, js: js, kv: kv, bus: natstest.Open(t, s, "test-client")}
}

// put stores an integration as the manager would.
func (e *env) put(it contracts.Integration) contracts.Integration {
	e.t.Helper()
	it.ID, it.TenantID, it.Name = uuid.NewString(), tenant, it.TypeID
	b, _ := json.Marshal(it)
	rev, err := e.kv.Put(context.Background(), it.TenantID+"."+it.ID, b)
	if err != nil {
		e.t.Fatal(err)
	}
	it.Revision = rev
	return it
}

// prometheusAt stores a prometheus integration of url.
func (e *env) prometheusAt(url string) contracts.Integration {
	return e.put(contracts.Integration{TypeID: prometheus.ProviderID, Config: map[string]any{"url": url}})
}

// replica is one running analyzer; stop ends it as a crash would end its
// work (the context is cancelled, nothing is finished on its behalf).
type replica struct{ stop func() }

// start runs an analyzer replica until the test ends or stop.
func (e *env) start() *replica {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	cfg := metricsanalyzer.Config{
		Bus: natstest.Config(e.srv, "metrics-analyzer"), Ready: ready,
		Registry: connectors.NewRegistry(prometheus.Spec), Policy: httpx.GuardPolicy{AllowPrivate: true},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Timeout: 5 * time.Second, Tick: 50 * time.Millisecond,
	}
	go func() { done <- metricsanalyzer.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		e.t.Fatalf("metrics-analyzer: %v", err)
	case <-time.After(15 * time.Second):
		cancel()
		e.t.Fatal("metrics-analyzer did not start")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("metrics-analyzer: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return &replica{stop: stop}
}

// subscribe collects every message of subject filter until the test ends.
func subscribe[T any](e *env, filter string) func() []T {
	e.t.Helper()
	var mu sync.Mutex
	var got []T
	natstest.Subscribe(e.t, e.nc, filter, func(msg *nats.Msg) {
		var v T
		if err := json.Unmarshal(msg.Data, &v); err != nil {
			e.t.Errorf("%s: %v", msg.Subject, err)
			return
		}
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
	})
	return func() []T {
		mu.Lock()
		defer mu.Unlock()
		return append([]T(nil), got...)
	}
}

// publish sends a command as the ingress would.
func (e *env) publish(id, subject, tenantID, dataSubject string, data any) {
	e.t.Helper()
	if _, err := e.bus.Publisher().Publish(context.Background(), bus.Event{
		ID: id, Subject: subject, TenantID: tenantID, DataSubject: dataSubject, Data: data,
	}); err != nil {
		e.t.Fatal(err)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stored collects every message the events stream stores on filter (what
// a JetStream consumer sees: a republish the stream dropped as a
// duplicate is not there), from the stream's start.
func stored[T any](e *env, filter string) func() []T {
	e.t.Helper()
	ctx := context.Background()
	var cons jetstream.Consumer
	waitFor(e.t, 10*time.Second, "the events stream", func() bool {
		var err error
		cons, err = e.js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
		return err == nil
	})
	var mu sync.Mutex
	var got []T
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var v T
		if err := json.Unmarshal(msg.Data(), &v); err != nil {
			e.t.Errorf("%s: %v", msg.Subject(), err)
			return
		}
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(cc.Stop)
	return func() []T {
		mu.Lock()
		defer mu.Unlock()
		return append([]T(nil), got...)
	}
}
