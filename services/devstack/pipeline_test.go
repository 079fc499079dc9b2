package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/pipelineruns"
)

// stepCI is a CI provider in memory whose runs move one step per read:
// queued, running, then the verdict its pipeline names ("deploy" succeeds,
// "broken" fails). It counts the triggers it took.
type stepCI struct {
	mu       sync.Mutex
	runs     map[string]contracts.PipelineRunStatus
	triggers int
}

func (f *stepCI) Close() error { return nil }

func (f *stepCI) Trigger(_ context.Context, pipeline, ref string, _ map[string]string) (connectors.RunRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.triggers++
	id := fmt.Sprint(f.triggers)
	f.runs[id] = contracts.RunQueued
	return connectors.RunRef{ID: id, Pipeline: pipeline, Ref: ref, WebURL: "https://ci.example.com/" + pipeline + "/" + id}, nil
}

func (f *stepCI) RunStatus(_ context.Context, run connectors.RunRef) (connectors.RunState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch st := f.runs[run.ID]; {
	case st == contracts.RunQueued:
		f.runs[run.ID] = contracts.RunRunning
	case st == contracts.RunRunning && run.Pipeline == "broken":
		f.runs[run.ID] = contracts.RunFailed
	case st == contracts.RunRunning:
		f.runs[run.ID] = contracts.RunSucceeded
	}
	return connectors.RunState{Status: f.runs[run.ID], Ref: run}, nil
}

func (f *stepCI) CancelRun(_ context.Context, run connectors.RunRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.runs[run.ID].Final() {
		f.runs[run.ID] = contracts.RunCancelled
	}
	return nil
}

func (f *stepCI) triggered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.triggers
}

// startPipelineStack runs a stack whose registry adds the provider
// "step-ci" (every shipped one besides), with a runner that reads runs
// every few milliseconds.
func startPipelineStack(t *testing.T, ci *stepCI) *stack {
	t.Helper()
	return startPipelineStackWith(t, ci, func(cfg *devstack.Config) {
		cfg.Services.PipelineRunner = pipelinerunner.Config{PollInterval: 20 * time.Millisecond, MaxPollInterval: 40 * time.Millisecond}
	})
}

// startPipelineStackWith is startPipelineStack with the stack's config as
// tune leaves it. Besides step-ci, the registry has "hook-ci": the same
// runs, with a webhookSecretRef and GitLab's token header as its webhook.
func startPipelineStackWith(t *testing.T, ci *stepCI, tune func(*devstack.Config)) *stack {
	t.Helper()
	reg := all.Registry()
	factory := func(context.Context, connectors.Instance) (connectors.Connector, error) { return ci, nil }
	reg.Register((&connectors.Spec{ID: "step-ci", Name: "Step CI", Category: connectors.CategoryCICD,
		Capabilities: []connectors.Capability{connectors.CapTrigger, connectors.CapFollowRuns}}).WithFactory(factory))
	reg.Register((&connectors.Spec{ID: "hook-ci", Name: "Hook CI", Category: connectors.CategoryCICD,
		Fields:       []connectors.Field{connectors.WebhookSecretField("sent as X-Gitlab-Token.")},
		Capabilities: []connectors.Capability{connectors.CapTrigger, connectors.CapFollowRuns}, Webhook: connectors.WebhookGitLabToken}).
		WithFactory(factory))
	cfg := devstack.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), Registry: reg}
	tune(&cfg)
	info := runStack(t, cfg)
	nc := natsConn(t, info)
	js, _ := jetstream.New(nc)
	return &stack{t: t, base: "http://" + info.HTTPAddr, info: info, js: js}
}

// runEvents collects the pipeline.run.* events stored in INTHUB_EVENTS.
type runEvents struct {
	mu     sync.Mutex
	byKind map[string][]contracts.PipelineRunEvent
}

func (s *stack) followRuns() *runEvents {
	s.t.Helper()
	ctx := context.Background()
	c, err := s.js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"pipeline.run.>"}})
	if err != nil {
		s.t.Fatal(err)
	}
	l := &runEvents{byKind: map[string][]contracts.PipelineRunEvent{}}
	cc, err := c.Consume(func(m jetstream.Msg) {
		var ev contracts.PipelineRunEvent
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			s.t.Errorf("event %s: %v", m.Subject(), err)
		}
		l.mu.Lock()
		l.byKind[contracts.PrefixOf(m.Subject())] = append(l.byKind[contracts.PrefixOf(m.Subject())], ev)
		l.mu.Unlock()
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(cc.Stop)
	return l
}

// of returns one run's events of a kind.
func (l *runEvents) of(kind, runID string) []contracts.PipelineRunEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []contracts.PipelineRunEvent
	for _, e := range l.byKind[kind] {
		if e.Run.RunID == runID {
			out = append(out, e)
		}
	}
	return out
}

// waitCompleted waits for the run's completion, then a moment more so a
// duplicate would show.
func (l *runEvents) waitCompleted(t *testing.T, runID string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(l.of(contracts.SubjectRunCompleted, runID)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("run %s never completed", runID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
}

// checkRun asserts one started, the two transitions once each and exactly
// one completed with the verdict.
func (l *runEvents) checkRun(t *testing.T, runID string, verdict contracts.PipelineRunStatus) {
	t.Helper()
	started, done := l.of(contracts.SubjectRunStarted, runID), l.of(contracts.SubjectRunCompleted, runID)
	if len(started) != 1 || len(done) != 1 {
		t.Fatalf("run %s: %d started, %d completed; want one each", runID, len(started), len(done))
	}
	var moves []string
	for _, e := range l.of(contracts.SubjectRunChanged, runID) {
		moves = append(moves, string(e.Previous)+">"+string(e.Run.Status))
	}
	if want := []string{"queued>running", "running>" + string(verdict)}; !slices.Equal(moves, want) {
		t.Errorf("run %s: transitions %v, want %v", runID, moves, want)
	}
	if r := done[0].Run; r.Status != verdict || r.CompletedAt == nil || r.WebURL == "" {
		t.Errorf("run %s completed as %+v, want %s", runID, r, verdict)
	}
}

func (s *stack) createStepCI(name string) string {
	s.t.Helper()
	r := s.call("POST", "/api/v1/integrations", s.info.Token, map[string]any{"typeId": "step-ci", "name": name, "config": map[string]any{}})
	if r.status != http.StatusCreated {
		s.t.Fatalf("create: %d %s", r.status, r.body)
	}
	var it contracts.Integration
	r.decode(&it)
	return it.ID
}

// TestPipelineRunOverHTTP: a run triggered over HTTP (and retried with its
// Idempotency-Key) starts once, moves queued → running → its verdict with
// one pipeline.run.changed each and exactly one pipeline.run.completed, and
// reads back with GET, one and the list.
func TestPipelineRunOverHTTP(t *testing.T) {
	t.Parallel()
	ci := &stepCI{runs: map[string]contracts.PipelineRunStatus{}}
	s := startPipelineStack(t, ci)
	events := s.followRuns()
	id := s.createStepCI("CI")
	tests := []struct {
		name, pipeline string
		verdict        contracts.PipelineRunStatus
	}{
		{"succeeds", "deploy", contracts.RunSucceeded},
		{"fails", "broken", contracts.RunFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"pipeline": tc.pipeline, "ref": "main", "parameters": map[string]string{"VERSION": "1.2.3"}}
			var first, retry struct{ RunID string }
			for _, into := range []*struct{ RunID string }{&first, &retry} {
				r := s.call("POST", "/api/v1/integrations/"+id+"/runs", s.info.Token, body, "Idempotency-Key", "release-"+tc.name)
				if r.status != http.StatusAccepted {
					t.Fatalf("trigger: %d %s", r.status, r.body)
				}
				r.decode(into)
			}
			if first.RunID == "" || retry.RunID != first.RunID {
				t.Fatalf("run ids %q and %q, want one", first.RunID, retry.RunID)
			}
			events.waitCompleted(t, first.RunID)
			events.checkRun(t, first.RunID, tc.verdict)

			r := s.call("GET", "/api/v1/integrations/"+id+"/runs/"+first.RunID, s.info.Token, nil)
			var run contracts.PipelineRun
			r.decode(&run)
			if r.status != http.StatusOK || run.Status != tc.verdict || run.Parameters["VERSION"] != "1.2.3" || run.Pipeline != tc.pipeline || run.DurationMs < 0 {
				t.Fatalf("GET run: %d %s", r.status, r.body)
			}
			r = s.call("GET", "/api/v1/integrations/"+id+"/runs", s.info.Token, nil)
			var list contracts.PipelineRunList
			r.decode(&list)
			if r.status != http.StatusOK || !slices.ContainsFunc(list.Items, func(x contracts.PipelineRun) bool { return x.RunID == first.RunID && x.Status == tc.verdict }) {
				t.Fatalf("GET runs: %d %s", r.status, r.body)
			}
		})
	}
	if n := ci.triggered(); n != len(tests) {
		t.Fatalf("%d triggers reached the provider, want %d (one per idempotency key)", n, len(tests))
	}
}

// TestPipelineRunOnTheBus: the orchestrator's way, with no HTTP at all: a
// pipeline.trigger.requested command (sent twice, one idempotency key)
// gives one run whose events arrive on the bus and whose record reads
// through inthub.pipeline-runner.runs.get.
func TestPipelineRunOnTheBus(t *testing.T) {
	t.Parallel()
	ci := &stepCI{runs: map[string]contracts.PipelineRunStatus{}}
	s := startPipelineStack(t, ci)
	events := s.followRuns()
	id := s.createStepCI("CI on the bus")
	tenant := devstack.DevTenantID
	var runID string
	for _, req := range []string{"req-1", "req-2"} {
		cmd := contracts.PipelineTriggerRequested{RequestID: req, TenantID: tenant, IntegrationID: id, Pipeline: "deploy", Ref: "main",
			Parameters: map[string]string{"VERSION": "2.0.0"}, IdempotencyKey: "release-2"}
		runID = pipelineruns.RunID(cmd)
		if _, err := s.publisher().Publish(context.Background(), bus.Event{
			Subject: contracts.Subject(contracts.SubjectPipelineTrigger, tenant, id), TenantID: tenant, DataSubject: id, Data: cmd,
		}); err != nil {
			t.Fatal(err)
		}
	}
	events.waitCompleted(t, runID)
	events.checkRun(t, runID, contracts.RunSucceeded)
	if n := ci.triggered(); n != 1 {
		t.Fatalf("%d triggers, want 1", n)
	}
	nc, err := nats.Connect(s.info.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	run, err := pipelineruns.NewClient(nc, 5*time.Second).Get(context.Background(), pipelineruns.GetRequest{TenantID: tenant, IntegrationID: id, RunID: runID})
	if err != nil || run.Status != contracts.RunSucceeded || run.Parameters["VERSION"] != "2.0.0" {
		t.Fatalf("runs.get: %+v, %v", run, err)
	}
}

// TestPipelineWebhookMovesRun: with the next poll an hour away, a webhook
// signed with the integration's secret makes the runner read the run at
// once (each signed call one step: queued → running → succeeded), while a
// mis-signed or unsigned one is refused 401 and moves nothing.
func TestPipelineWebhookMovesRun(t *testing.T) {
	t.Parallel()
	const secret = "hook-secret-of-the-test"
	local, _ := localSecrets(t, map[string]string{"INTHUB_SECRET_DEV_HOOK": secret})
	s := startPipelineStackWith(t, &stepCI{runs: map[string]contracts.PipelineRunStatus{}}, func(cfg *devstack.Config) {
		cfg.Local = &local
		cfg.Services.PipelineRunner = pipelinerunner.Config{PollInterval: time.Hour, MaxPollInterval: time.Hour}
	})
	events := s.followRuns()
	r := s.call("POST", "/api/v1/integrations", s.info.Token, map[string]any{"typeId": "hook-ci", "name": "hooked",
		"config": map[string]any{connectors.WebhookSecretRef: "env://INTHUB_SECRET_DEV_HOOK"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var it contracts.Integration
	r.decode(&it)
	r = s.call("POST", "/api/v1/integrations/"+it.ID+"/runs?wait=started", s.info.Token, map[string]any{"pipeline": "deploy"})
	var run contracts.PipelineRun
	r.decode(&run)
	if r.status != http.StatusOK || run.Status != contracts.RunQueued {
		t.Fatalf("trigger: %d %s", r.status, r.body)
	}
	hookPath := "/api/v1/hooks/" + it.ID
	moves := func() int { return len(events.of(contracts.SubjectRunChanged, run.RunID)) }
	waitMoves := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for moves() < n {
			if time.Now().After(deadline) {
				t.Fatalf("run %s: %d transitions after the signed webhook, want %d", run.RunID, moves(), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	for name, headers := range map[string][]string{
		"wrong token":  {"X-Gitlab-Token", secret + "x"},
		"no signature": nil,
		"other scheme": {"X-Hub-Signature-256", "sha256=" + strings.Repeat("0", 64)},
	} {
		if r := s.call("POST", hookPath, "", map[string]any{"object_kind": "pipeline"}, headers...); r.status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s, want 401", name, r.status, r.body)
		}
	}
	time.Sleep(1500 * time.Millisecond) // past the follower's tick
	if n := moves(); n != 0 {
		t.Fatalf("mis-signed webhooks moved the run: %d transitions", n)
	}

	for i, want := range []int{1, 2} {
		// A run is counted once it is followed and no replica holds it: on
		// a busy machine the trigger's lease can outlast the sleep above,
		// and the webhook then answers 0 runs (the run is polled anyway).
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := s.call("POST", hookPath, "", map[string]any{"object_kind": "pipeline"}, "X-Gitlab-Token", secret)
			if r.status == http.StatusAccepted && strings.Contains(string(r.body), `"runs":1`) {
				break
			}
			if r.status != http.StatusAccepted || !strings.Contains(string(r.body), `"runs":0`) || time.Now().After(deadline) {
				t.Fatalf("signed webhook %d: %d %s", i, r.status, r.body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		waitMoves(want)
	}
	events.waitCompleted(t, run.RunID)
	events.checkRun(t, run.RunID, contracts.RunSucceeded)
}
