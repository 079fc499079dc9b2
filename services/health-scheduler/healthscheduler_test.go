package healthscheduler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/telemetry/metrictest"
)

const tenant = "0193a0b4-0000-7000-8000-00000000000a"

// env is an embedded JetStream with the integrations bucket, standing in for
// the manager (the only writer of that bucket in production).
type env struct {
	t   *testing.T
	srv *server.Server
	js  jetstream.JetStream
	kv  jetstream.KeyValue
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := natstest.Start(t)
	_, js := natstest.Connect(t, s)
	if err := bus.EnsureStreams(context.Background(), js, bus.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateOrUpdateKeyValue(context.Background(), catalog.IntegrationsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: s, js: js, kv: kv}
}

// put stores an integration as the manager would.
func (e *env) put(it contracts.Integration) contracts.Integration {
	e.t.Helper()
	b, _ := json.Marshal(it)
	rev, err := e.kv.Put(context.Background(), it.TenantID+"."+it.ID, b)
	if err != nil {
		e.t.Fatal(err)
	}
	it.Revision = rev
	return it
}

func (e *env) start(cfg healthscheduler.Config) (stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	cfg.Bus = natstest.Config(e.srv, "health-scheduler")
	cfg.Ready = ready
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	go func() { done <- healthscheduler.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		e.t.Fatalf("health-scheduler: %v", err)
	case <-time.After(15 * time.Second):
		cancel()
		e.t.Fatal("health-scheduler did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("health-scheduler: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// events returns the events stored under subject prefix.
func (e *env) events(prefix string) []jetstream.Msg {
	e.t.Helper()
	return natstest.ReadStream(e.t, e.js, bus.StreamEvents, prefix+".>")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func fastConfig(reg *connectors.Registry) healthscheduler.Config {
	return healthscheduler.Config{
		Registry:      reg,
		Intervals:     healthscheduler.Intervals{Connectivity: 150 * time.Millisecond, Authentication: 150 * time.Millisecond, Functionality: 150 * time.Millisecond},
		FlapThreshold: 2,
		Retry:         resilience.Policy{MaxAttempts: 1},
		CheckTimeout:  2 * time.Second,
	}
}

func memIntegration(mode string) contracts.Integration {
	return contracts.Integration{
		ID: uuid.NewString(), TenantID: tenant, TypeID: "inmemory", Name: "mem",
		Config: map[string]any{"failureMode": mode}, Labels: map[string]string{"env": "test"},
	}
}

func changes(t *testing.T, e *env) []contracts.HealthChanged {
	var out []contracts.HealthChanged
	for _, m := range e.events(contracts.SubjectHealthChanged) {
		var c contracts.HealthChanged
		if err := json.Unmarshal(m.Data(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func healthOf(t *testing.T, e *env, it contracts.Integration) contracts.IntegrationHealth {
	kv, err := e.js.KeyValue(context.Background(), catalog.BucketHealth)
	if err != nil {
		return contracts.IntegrationHealth{}
	}
	entry, err := kv.Get(context.Background(), it.TenantID+"."+it.ID)
	if err != nil {
		return contracts.IntegrationHealth{}
	}
	var rec catalog.HealthRecord
	_ = json.Unmarshal(entry.Value(), &rec)
	return rec.Health(it.TenantID, it.ID)
}

func TestStatusTransitionsAreAnnouncedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(fastConfig(connectors.NewRegistry(inmemory.Spec)))
	it := e.put(memIntegration(inmemory.FailNone))

	waitFor(t, "healthy", func() bool { return healthOf(t, e, it).Status == contracts.HealthHealthy })
	it.Config = map[string]any{"failureMode": inmemory.FailConnectionRefused}
	it = e.put(it)
	waitFor(t, "unhealthy", func() bool { return healthOf(t, e, it).Status == contracts.HealthUnhealthy })
	h := healthOf(t, e, it)
	failing := 0
	for _, c := range h.Checks {
		if c.Status == contracts.HealthUnhealthy && c.ErrorCode != "" && c.Message != "" {
			failing++
		}
	}
	if failing == 0 || h.LastCheck == nil {
		t.Fatalf("unhealthy record without failing checks: %+v", h)
	}
	// Stay unhealthy a while: no further change events.
	time.Sleep(600 * time.Millisecond)
	it.Config = map[string]any{"failureMode": inmemory.FailNone}
	it = e.put(it)
	waitFor(t, "healthy again", func() bool { return healthOf(t, e, it).Status == contracts.HealthHealthy })
	time.Sleep(400 * time.Millisecond)

	got := changes(t, e)
	want := [][2]contracts.HealthStatus{{"unknown", "healthy"}, {"healthy", "unhealthy"}, {"unhealthy", "healthy"}}
	if len(got) != len(want) {
		t.Fatalf("%d health.changed events, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Previous != w[0] || got[i].Current != w[1] || got[i].IntegrationID != it.ID || got[i].TypeID != "inmemory" {
			t.Errorf("change %d: %+v, want %s -> %s", i, got[i], w[0], w[1])
		}
	}
	if got[1].ErrorCode != string(resilience.ConnectionRefused) && got[1].ErrorCode != string(resilience.IntegrationUnhealthy) {
		t.Errorf("unhealthy change carries code %q", got[1].ErrorCode)
	}
	if n := len(e.events(contracts.SubjectHealthChecked)); n < 6 {
		t.Fatalf("only %d health.checked events", n)
	}
}

func TestDeletedIntegrationStopsBeingChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(fastConfig(connectors.NewRegistry(inmemory.Spec)))
	it := e.put(memIntegration(inmemory.FailNone))
	waitFor(t, "checked", func() bool { return healthOf(t, e, it).Status == contracts.HealthHealthy })
	if err := e.kv.Delete(context.Background(), it.TenantID+"."+it.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "health record removed", func() bool { return healthOf(t, e, it).Status == "" })
	time.Sleep(300 * time.Millisecond)
	before := len(e.events(contracts.SubjectHealthChecked))
	time.Sleep(500 * time.Millisecond)
	if after := len(e.events(contracts.SubjectHealthChecked)); after != before {
		t.Fatalf("%d checks ran after delete", after-before)
	}
}

// countingSpec is a provider whose checks count their calls.
func countingSpec(calls *atomic.Int64) *connectors.Spec {
	return &connectors.Spec{
		ID: "counting", Category: connectors.CategoryRegistry, CheckLevels: []contracts.CheckType{contracts.CheckConnectivity},
		New: func(context.Context, connectors.Instance) (connectors.Connector, error) { return counter{calls}, nil },
	}
}

type counter struct{ n *atomic.Int64 }

func (c counter) Close() error                              { return nil }
func (c counter) CheckConnectivity(context.Context) error   { c.n.Add(1); return nil }
func (c counter) CheckAuthentication(context.Context) error { return nil }
func (c counter) CheckFunctionality(context.Context) error  { return nil }

func TestTwoReplicasRunEachSlotOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var calls atomic.Int64
	reg := connectors.NewRegistry(countingSpec(&calls))
	const n = 20
	for i := 0; i < n; i++ {
		e.put(contracts.Integration{ID: uuid.NewString(), TenantID: tenant, TypeID: "counting", Name: fmt.Sprint(i), Config: map[string]any{}})
	}
	cfg := fastConfig(reg)
	cfg.Intervals.Connectivity = 200 * time.Millisecond
	began := time.Now()
	stopA := e.start(cfg)
	stopB := e.start(cfg) // a second replica on the same stream and consumers
	time.Sleep(2 * time.Second)
	stopA()
	stopB()
	elapsed := time.Since(began)
	// A worker-only replica drains what the two left queued.
	worker := cfg
	worker.DisableSchedule = true
	e.start(worker)
	st, _ := e.js.Stream(context.Background(), bus.StreamCommands)
	waitFor(t, "queue drained", func() bool {
		info, _ := st.Info(context.Background())
		return info.State.Msgs == 0
	})
	info, _ := st.Info(context.Background())
	commands := int64(info.State.LastSeq)
	// Both replicas publish every slot; JetStream stores each once, so the
	// stored commands are one per slot, not two...
	slots := int64(elapsed/(200*time.Millisecond)) * n
	if commands < slots/2 || commands > slots+2*n {
		t.Fatalf("%d check commands stored, want about %d (one per slot) over %v", commands, slots, elapsed)
	}
	// ...and each stored command ran exactly once, on whichever worker pulled it.
	if got := calls.Load(); got != commands {
		dlq, _ := e.js.Stream(context.Background(), bus.StreamDLQ)
		dinfo, _ := dlq.Info(context.Background())
		t.Fatalf("%d checks executed for %d commands (%d dead letters, %d checked events): a slot ran twice or not at all", got, commands, dinfo.State.Msgs, len(e.events(contracts.SubjectHealthChecked)))
	}
}

func TestOnDemandTestOverTheBus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := fastConfig(connectors.NewRegistry(inmemory.Spec))
	cfg.DisableSchedule = true
	e.start(cfg)
	nc, _ := nats.Connect(e.srv.ClientURL())
	defer nc.Close()
	b := natstest.Open(t, e.srv, "orchestrator")

	tests := []struct {
		name    string
		mode    string
		success bool
		steps   [3]string
		code    string
	}{
		{"all pass", inmemory.FailNone, true, [3]string{"passed", "passed", "passed"}, ""},
		{"bad credentials", inmemory.FailAuthentication, false, [3]string{"passed", "failed", "skipped"}, string(resilience.AuthenticationFailed)},
		{"unreachable", inmemory.FailConnectionRefused, false, [3]string{"failed", "skipped", "skipped"}, string(resilience.ConnectionRefused)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := e.put(memIntegration(tc.mode))
			sub := natstest.SubscribeSync(t, nc, contracts.Subject(contracts.SubjectTestCompleted, tenant, it.ID))
			reqID := uuid.NewString()
			if _, err := b.Publisher().Publish(context.Background(), bus.Event{
				Subject: contracts.Subject(contracts.SubjectTestRequested, tenant, it.ID), TenantID: tenant,
				Data: contracts.TestRequested{RequestID: reqID, TenantID: tenant, IntegrationID: it.ID},
			}); err != nil {
				t.Fatal(err)
			}
			msg, err := sub.NextMsg(15 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var done contracts.TestCompleted
			_ = json.Unmarshal(msg.Data, &done)
			got := [3]string{done.Data.ConnectivityTest.Status, done.Data.AuthenticationTest.Status, done.Data.FunctionalityTest.Status}
			if done.RequestID != reqID || done.Success != tc.success || got != tc.steps {
				t.Fatalf("got %+v", done)
			}
			failed := done.Data.ConnectivityTest
			if done.Data.AuthenticationTest.Status == "failed" {
				failed = done.Data.AuthenticationTest
			}
			if tc.code != "" && (failed.ErrorCode != tc.code || failed.Message == "") {
				t.Fatalf("failed step %+v, want code %s", failed, tc.code)
			}
		})
	}
}

// A new integration is checked at once at every level by one command, which
// two replicas both publish and JetStream stores once; its worker runs the
// levels in order, writes the health record once and publishes one
// health.checked per level (each with the id its level's own command would
// have given it) and one health.changed. The record is written without
// being read first: an integration never updated since its create has none.
func TestNewIntegrationGetsOneCommandAndOneRecordWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := fastConfig(connectors.NewRegistry(inmemory.Spec))
	// No scheduled slot falls inside the test: only the new revision's check.
	cfg.Intervals = healthscheduler.Intervals{Connectivity: 24 * time.Hour, Authentication: 24 * time.Hour, Functionality: 24 * time.Hour}
	e.start(cfg)
	e.start(cfg)
	// Every read of the health bucket is a JetStream API request; a
	// subscriber of those subjects sees each one.
	nc, _ := natstest.Connect(t, e.srv)
	var reads atomic.Int32
	for _, subj := range []string{"$JS.API.STREAM.MSG.GET.KV_" + catalog.BucketHealth, "$JS.API.DIRECT.GET.KV_" + catalog.BucketHealth + ".>"} {
		if _, err := nc.Subscribe(subj, func(*nats.Msg) { reads.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	created := memIntegration(inmemory.FailNone)
	created.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	created.UpdatedAt = created.CreatedAt
	it := e.put(created)

	waitFor(t, "three health.checked", func() bool { return len(e.events(contracts.SubjectHealthChecked)) >= 3 })
	time.Sleep(500 * time.Millisecond) // anything more would have come by now
	if n := reads.Load(); n != 0 {
		t.Fatalf("the health bucket was read %d times before the first write of a new integration's record", n)
	}

	st, err := e.js.Stream(context.Background(), bus.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != 1 {
		t.Fatalf("%d check commands stored, want 1 for the three levels", info.State.LastSeq)
	}
	kv, err := e.js.KeyValue(context.Background(), catalog.BucketHealth)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(context.Background(), it.TenantID+"."+it.ID)
	if err != nil {
		t.Fatal(err)
	}
	var h contracts.IntegrationHealth
	if err := json.Unmarshal(entry.Value(), &h); err != nil {
		t.Fatal(err)
	}
	if entry.Revision() != 1 || h.Status != contracts.HealthHealthy || len(h.Checks) != 3 {
		t.Fatalf("health record at revision %d (want 1 write), status %s, %d levels: %+v", entry.Revision(), h.Status, len(h.Checks), h)
	}
	checked := e.events(contracts.SubjectHealthChecked)
	if len(checked) != 3 {
		t.Fatalf("%d health.checked, want one per level", len(checked))
	}
	for i, m := range checked {
		var ev contracts.HealthChecked
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		ct := contracts.CheckTypes[i]
		want := fmt.Sprintf("%s:%s:r%d:checked", it.ID, ct, it.Revision)
		if ev.Result.CheckType != ct || ev.Result.Status != contracts.HealthHealthy || m.Headers().Get(nats.MsgIdHdr) != want {
			t.Errorf("health.checked %d: %+v id %q, want %s healthy id %q", i, ev.Result, m.Headers().Get(nats.MsgIdHdr), ct, want)
		}
	}
	if got := changes(t, e); len(got) != 1 || got[0].Previous != contracts.HealthUnknown || got[0].Current != contracts.HealthHealthy {
		t.Fatalf("health.changed %+v, want one unknown -> healthy", got)
	}
}

// blockingSpec is a provider whose connectivity checks wait until release
// is closed, counting the checks that ran.
func blockingSpec(release <-chan struct{}, calls *atomic.Int64) *connectors.Spec {
	return &connectors.Spec{
		ID: "blocking", Category: connectors.CategoryRegistry, CheckLevels: []contracts.CheckType{contracts.CheckConnectivity},
		New: func(context.Context, connectors.Instance) (connectors.Connector, error) {
			return blocking{counter{calls}, release}, nil
		},
	}
}

type blocking struct {
	counter
	release <-chan struct{}
}

func (b blocking) CheckConnectivity(ctx context.Context) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.counter.CheckConnectivity(ctx)
}

// While the checks cannot keep up, the check commands stop piling up at
// MaxQueued (plus what one reading of the queue lets through) and the
// slots coming due are counted as skipped; once the workers catch up the
// schedule publishes again.
func TestAFullCheckQueueSkipsSlotsUntilItDrains(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	release := make(chan struct{})
	var calls atomic.Int64
	const n, maxQueued = 5, 20
	for i := 0; i < n; i++ {
		e.put(contracts.Integration{ID: uuid.NewString(), TenantID: tenant, TypeID: "blocking", Name: fmt.Sprint(i), Config: map[string]any{}})
	}
	metrics := prometheus.NewRegistry()
	cfg := fastConfig(connectors.NewRegistry(blockingSpec(release, &calls)))
	cfg.Intervals.Connectivity = 100 * time.Millisecond // 50 slots a second
	cfg.Workers, cfg.MaxQueued, cfg.CheckTimeout, cfg.Metrics = 1, maxQueued, time.Minute, metrics
	e.start(cfg)
	st, err := e.js.Stream(context.Background(), bus.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	stored := func() uint64 {
		info, err := st.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	skipped := func() float64 { return metrictest.Value(t, metrics, "inthub_health_checks_skipped_total") }
	waitFor(t, "slots skipped", func() bool { return skipped() >= 2*n })
	// At most one second of slots (50) gets past the bound between two
	// readings of the queue; without it 4 s would store about 200.
	time.Sleep(2 * time.Second)
	if got := stored(); got > maxQueued+50+n {
		t.Fatalf("%d check commands stored with the workers stuck; want at most about %d", got, maxQueued+50)
	}
	before := stored()
	close(release)
	waitFor(t, "publishing again once the queue drained", func() bool { return stored() > before+2*n })
	if calls.Load() == 0 {
		t.Fatal("no check ran after the release")
	}
}
