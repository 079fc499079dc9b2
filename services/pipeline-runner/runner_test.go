package pipelinerunner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
	"github.com/stella-ops/inthub/shared/resilience"
)

const tenant = "acme"

// fakeCI is a CI provider in memory: each read of a run moves it one step
// along queued, running (steps times), then its verdict; a cancel ends it
// cancelled. It counts the triggers it took.
type fakeCI struct {
	mu       sync.Mutex
	steps    int
	verdict  contracts.PipelineRunStatus
	runs     map[string]*fakeRun
	triggers []map[string]string
}

type fakeRun struct {
	reads  int
	status contracts.PipelineRunStatus
}

func (f *fakeCI) Close() error { return nil }

func (f *fakeCI) Trigger(_ context.Context, pipeline, ref string, params map[string]string) (connectors.RunRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pipeline == "missing" {
		return connectors.RunRef{}, resilience.New(resilience.ResourceNotFound, "no pipeline %s", pipeline)
	}
	f.triggers = append(f.triggers, maps.Clone(params))
	id := fmt.Sprint(100 + len(f.triggers))
	f.runs[id] = &fakeRun{status: contracts.RunQueued}
	return connectors.RunRef{ID: id, Pipeline: pipeline, Ref: ref, WebURL: "https://ci.example.com/runs/" + id}, nil
}

func (f *fakeCI) RunStatus(_ context.Context, run connectors.RunRef) (connectors.RunState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.runs[run.ID]
	if r == nil {
		return connectors.RunState{}, resilience.New(resilience.ResourceNotFound, "no run %s", run.ID)
	}
	if !r.status.Final() {
		r.reads++
		switch {
		case r.reads <= f.steps:
			r.status = contracts.RunRunning
		default:
			r.status = f.verdict
		}
	}
	return connectors.RunState{Status: r.status, Ref: run, Jobs: []contracts.PipelineJob{{Name: "build", Status: string(r.status)}}}, nil
}

func (f *fakeCI) CancelRun(_ context.Context, run connectors.RunRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.runs[run.ID]; r != nil && !r.status.Final() {
		r.status = contracts.RunCancelled
	}
	return nil
}

func (f *fakeCI) triggered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.triggers)
}

// env is a NATS server, a client, the catalog with one fake CI
// integration, and what the runners published.
type env struct {
	t      *testing.T
	ns     *server.Server
	client *bus.Bus
	ci     *fakeCI
	itID   string
	events *eventLog
}

func newEnv(t *testing.T, steps int, verdict contracts.PipelineRunStatus) *env {
	t.Helper()
	ns := natstest.Start(t)
	client := natstest.Open(t, ns, "test")
	e := &env{t: t, ns: ns, client: client, ci: &fakeCI{steps: steps, verdict: verdict, runs: map[string]*fakeRun{}}, itID: uuid.NewString()}
	ctx := context.Background()
	kv, err := client.JetStream().CreateOrUpdateKeyValue(ctx, catalog.IntegrationsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	it := contracts.Integration{ID: e.itID, TenantID: tenant, TypeID: "fake-ci", Name: "CI", Config: map[string]any{},
		HealthStatus: contracts.HealthUnknown, Labels: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	b, _ := json.Marshal(it)
	if _, err := kv.Put(ctx, tenant+"."+it.ID, b); err != nil {
		t.Fatal(err)
	}
	e.events = follow(t, client.JetStream())
	return e
}

// start runs one runner replica until the returned stop is called.
func (e *env) start() (stop func()) {
	e.t.Helper()
	return e.startWith(func(*Config) {})
}

// startWith is start with the config as tune leaves it.
func (e *env) startWith(tune func(*Config)) (stop func()) {
	e.t.Helper()
	spec := (&connectors.Spec{ID: "fake-ci", Name: "Fake CI", Category: connectors.CategoryCICD,
		Capabilities: []connectors.Capability{connectors.CapTrigger, connectors.CapFollowRuns}}).
		WithFactory(func(context.Context, connectors.Instance) (connectors.Connector, error) { return e.ci, nil })
	ready := make(chan struct{})
	cfg := Config{
		Bus: natstest.Config(e.ns, "pipeline-runner"), Logger: slog.New(slog.DiscardHandler), Registry: connectors.NewRegistry(spec),
		PollInterval: 30 * time.Millisecond, MaxPollInterval: 60 * time.Millisecond, LeaseTTL: 600 * time.Millisecond,
		ProviderRate: rate.Inf, Ready: ready,
	}
	tune(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		e.t.Fatalf("runner stopped: %v", err)
	case <-time.After(15 * time.Second):
		e.t.Fatal("runner not ready")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("runner: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) trigger(cmd contracts.PipelineTriggerRequested) {
	e.t.Helper()
	cmd.TenantID, cmd.IntegrationID = tenant, e.itID
	if cmd.RequestID == "" {
		cmd.RequestID = uuid.NewString()
	}
	e.publish(contracts.SubjectPipelineTrigger, cmd)
}

func (e *env) publish(prefix string, data any) {
	e.t.Helper()
	if _, err := e.client.Publisher().Publish(context.Background(), bus.Event{
		Subject: contracts.Subject(prefix, tenant, e.itID), TenantID: tenant, DataSubject: e.itID, Data: data,
	}); err != nil {
		e.t.Fatal(err)
	}
}

// eventLog is every run event stored in INTHUB_EVENTS, in order.
type eventLog struct {
	mu     sync.Mutex
	events []loggedEvent
}

type loggedEvent struct {
	subject string
	msgID   string
	body    contracts.PipelineRunEvent
}

func follow(t *testing.T, js jetstream.JetStream) *eventLog {
	t.Helper()
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	c, err := js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"pipeline.run.>"}})
	if err != nil {
		t.Fatal(err)
	}
	l := &eventLog{}
	cc, err := c.Consume(func(m jetstream.Msg) {
		var ev contracts.PipelineRunEvent
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Errorf("event %s: %v", m.Subject(), err)
		}
		l.mu.Lock()
		l.events = append(l.events, loggedEvent{subject: m.Subject(), msgID: m.Headers().Get(bus.HeaderMsgID), body: ev})
		l.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return l
}

// of returns the events of one run by kind (started, changed, completed).
func (l *eventLog) of(runID string) map[string][]contracts.PipelineRunEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]contracts.PipelineRunEvent{}
	for _, e := range l.events {
		if e.body.Run.RunID != runID {
			continue
		}
		kind := contracts.PrefixOf(e.subject)
		out[kind] = append(out[kind], e.body)
	}
	return out
}

// runs are the run ids with a started event.
func (l *eventLog) runs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if contracts.PrefixOf(e.subject) == contracts.SubjectRunStarted && !slices.Contains(out, e.body.Run.RunID) {
			out = append(out, e.body.Run.RunID)
		}
	}
	return out
}

func (l *eventLog) completed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if contracts.PrefixOf(e.subject) == contracts.SubjectRunCompleted {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func statuses(evs []contracts.PipelineRunEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Previous)+">"+string(e.Run.Status))
	}
	return out
}

// TestTriggerFollowsTheRunToItsEnd: on the bus alone, a trigger with
// parameters gives exactly one started, one changed per transition and
// exactly one completed with the provider's verdict.
func TestTriggerFollowsTheRunToItsEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		verdict contracts.PipelineRunStatus
	}{
		{"succeeds", contracts.RunSucceeded},
		{"fails", contracts.RunFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 2, tc.verdict)
			e.start()
			cmd := contracts.PipelineTriggerRequested{RequestID: "req-1", Pipeline: "deploy", Ref: "main", Parameters: map[string]string{"VERSION": "1.2.3"}}
			e.trigger(cmd)
			cmd.TenantID, cmd.IntegrationID = tenant, e.itID
			runID := RunID(cmd)
			waitFor(t, "completion", func() bool { return len(e.events.of(runID)[contracts.SubjectRunCompleted]) > 0 })
			time.Sleep(200 * time.Millisecond) // nothing more may follow
			evs := e.events.of(runID)
			if len(evs[contracts.SubjectRunStarted]) != 1 || len(evs[contracts.SubjectRunCompleted]) != 1 {
				t.Fatalf("%d started, %d completed; want one each", len(evs[contracts.SubjectRunStarted]), len(evs[contracts.SubjectRunCompleted]))
			}
			started, done := evs[contracts.SubjectRunStarted][0], evs[contracts.SubjectRunCompleted][0]
			if started.RequestID != "req-1" || started.Run.ProviderRunID != "101" || started.Run.WebURL != "https://ci.example.com/runs/101" {
				t.Errorf("started %+v", started)
			}
			want := []string{"queued>running", "running>" + string(tc.verdict)}
			if got := statuses(evs[contracts.SubjectRunChanged]); !slices.Equal(got, want) {
				t.Errorf("transitions %v, want %v", got, want)
			}
			if done.Run.Status != tc.verdict || done.Run.CompletedAt == nil || done.Run.WebURL == "" || len(done.Run.Jobs) != 1 {
				t.Errorf("completed %+v", done.Run)
			}
			if e.ci.triggered() != 1 || e.ci.triggers[0]["VERSION"] != "1.2.3" {
				t.Errorf("triggers %v, want one with VERSION", e.ci.triggers)
			}
		})
	}
}

// TestRefusedTriggerCompletesFailed: a trigger the provider refuses is
// started and completed failed with the provider's code, without a poll.
func TestRefusedTriggerCompletesFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, contracts.RunSucceeded)
	e.start()
	cmd := contracts.PipelineTriggerRequested{RequestID: "req-x", Pipeline: "missing"}
	e.trigger(cmd)
	cmd.TenantID, cmd.IntegrationID = tenant, e.itID
	runID := RunID(cmd)
	waitFor(t, "completion", func() bool { return len(e.events.of(runID)[contracts.SubjectRunCompleted]) > 0 })
	evs := e.events.of(runID)
	done := evs[contracts.SubjectRunCompleted][0]
	if len(evs[contracts.SubjectRunStarted]) != 1 || done.Run.Status != contracts.RunFailed || done.Run.Error == nil || done.Run.Error.Code != string(resilience.ResourceNotFound) {
		t.Fatalf("events %+v", evs)
	}
}

// TestRetriedTriggerStartsOneRun: two commands with one idempotency key
// trigger the provider once and give one run.
func TestRetriedTriggerStartsOneRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, contracts.RunSucceeded)
	e.start()
	for _, req := range []string{"req-a", "req-b"} {
		e.trigger(contracts.PipelineTriggerRequested{RequestID: req, Pipeline: "deploy", IdempotencyKey: "release-7"})
	}
	waitFor(t, "completion", func() bool { return e.events.completed() >= 1 })
	time.Sleep(300 * time.Millisecond)
	if n, runs := e.ci.triggered(), e.events.runs(); n != 1 || len(runs) != 1 || e.events.completed() != 1 {
		t.Fatalf("%d triggers, runs %v, %d completed; want one of each", n, runs, e.events.completed())
	}
}

// TestCancel: a cancel command stops a running run, which completes
// cancelled.
func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1_000_000, contracts.RunSucceeded)
	e.start()
	cmd := contracts.PipelineTriggerRequested{RequestID: "req-c", Pipeline: "deploy"}
	e.trigger(cmd)
	cmd.TenantID, cmd.IntegrationID = tenant, e.itID
	runID := RunID(cmd)
	waitFor(t, "running", func() bool { return len(e.events.of(runID)[contracts.SubjectRunChanged]) > 0 })
	e.publish(contracts.SubjectPipelineCancel, contracts.PipelineCancelRequested{RequestID: "cancel-1", TenantID: tenant, IntegrationID: e.itID, RunID: runID})
	waitFor(t, "completion", func() bool { return len(e.events.of(runID)[contracts.SubjectRunCompleted]) > 0 })
	evs := e.events.of(runID)
	if got := statuses(evs[contracts.SubjectRunChanged]); !slices.Equal(got, []string{"queued>running", "running>cancelled"}) {
		t.Fatalf("transitions %v", got)
	}
	if evs[contracts.SubjectRunCompleted][0].Run.Status != contracts.RunCancelled {
		t.Fatalf("completed %+v", evs[contracts.SubjectRunCompleted][0].Run)
	}
}

// TestRunsSurviveTheRunnerStopping: a runner stopped while it follows runs
// is replaced by a new one, which takes them over once their leases end;
// every run still completes exactly once.
func TestRunsSurviveTheRunnerStopping(t *testing.T) {
	t.Parallel()
	const runs = 5
	e := newEnv(t, 25, contracts.RunSucceeded)
	stop := e.start()
	for i := range runs {
		e.trigger(contracts.PipelineTriggerRequested{RequestID: fmt.Sprintf("req-%d", i), Pipeline: "deploy"})
	}
	waitFor(t, "every run running", func() bool {
		for _, id := range e.events.runs() {
			if len(e.events.of(id)[contracts.SubjectRunChanged]) == 0 {
				return false
			}
		}
		return len(e.events.runs()) == runs
	})
	if e.events.completed() != 0 {
		t.Fatal("runs completed before the runner stopped: make the fake slower")
	}
	stop()
	e.start()
	waitFor(t, "every completion", func() bool { return e.events.completed() >= runs })
	time.Sleep(300 * time.Millisecond)
	for _, id := range e.events.runs() {
		evs := e.events.of(id)
		if len(evs[contracts.SubjectRunStarted]) != 1 || len(evs[contracts.SubjectRunCompleted]) != 1 {
			t.Errorf("run %s: %d started, %d completed", id, len(evs[contracts.SubjectRunStarted]), len(evs[contracts.SubjectRunCompleted]))
		}
		if got := statuses(evs[contracts.SubjectRunChanged]); !slices.Equal(got, []string{"queued>running", "running>succeeded"}) {
			t.Errorf("run %s: transitions %v", id, got)
		}
	}
	if e.ci.triggered() != runs {
		t.Errorf("%d triggers, want %d", e.ci.triggered(), runs)
	}
}

// TestTriggerWaitingOnTheRateLimit: triggers queued behind the
// integration's rate limit for longer than a lease are not taken for
// stopped handlers (which would complete their runs failed): every run
// still succeeds, triggered once. `make chaos` found it, a busy
// integration's polls taking the turns.
func TestTriggerWaitingOnTheRateLimit(t *testing.T) {
	t.Parallel()
	const runs = 4
	e := newEnv(t, 1, contracts.RunSucceeded)
	// Two calls a second, one at a time: the last trigger waits about
	// 1.5 s, past the 600 ms lease.
	e.startWith(func(cfg *Config) { cfg.ProviderRate, cfg.ProviderBurst = 2, 1 })
	for i := range runs {
		e.trigger(contracts.PipelineTriggerRequested{RequestID: fmt.Sprintf("busy-%d", i), Pipeline: "deploy"})
	}
	waitFor(t, "every completion", func() bool { return e.events.completed() >= runs })
	time.Sleep(300 * time.Millisecond)
	for _, id := range e.events.runs() {
		evs := e.events.of(id)
		if len(evs[contracts.SubjectRunCompleted]) != 1 || evs[contracts.SubjectRunCompleted][0].Run.Status != contracts.RunSucceeded {
			t.Errorf("run %s: completed %+v, want once succeeded", id, evs[contracts.SubjectRunCompleted])
		}
	}
	if n := e.ci.triggered(); n != runs {
		t.Errorf("%d triggers, want %d", n, runs)
	}
}
