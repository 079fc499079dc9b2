package pipelinerunner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/scm/gitlab"
	"github.com/stella-ops/inthub/shared/connectors/scm/gitlab/gitlabfake"
	"github.com/stella-ops/inthub/shared/contracts"
)

// killTenant is the kill test's tenant: local secret references are
// granted to tenants by UUID.
const killTenant = "0193a0b4-0000-7000-8000-00000000c111"

// runnerProcessEnv marks the test binary started as a runner process.
const runnerProcessEnv = "INTHUB_TEST_RUNNER_PROCESS"

// TestRunnerProcess is not a test: started by TestRunnerKilledWhileFollowing
// with runnerProcessEnv set, it is a pipeline-runner process (settings from
// the environment, as its main reads them; the gitlab-ci provider) until it
// is killed.
func TestRunnerProcess(t *testing.T) {
	if os.Getenv(runnerProcessEnv) == "" {
		t.Skip("a helper process of TestRunnerKilledWhileFollowing, run only by it")
	}
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Registry = connectors.NewRegistry(gitlab.CISpec)
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// startRunnerProcess runs the runner as a process of its own on the test's
// NATS; kill ends it with SIGKILL (kill -9): nothing of it runs after, no
// lease is given back.
func (e *env) startRunnerProcess(secret string) (kill func()) {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunnerProcess$")
	cmd.Env = append(os.Environ(), runnerProcessEnv+"=1", "NATS_URL="+e.ns.ClientURL(),
		// The fake GitLab is on loopback.
		"INTHUB_ALLOW_PRIVATE_NETWORKS=true",
		"INTHUB_LOCAL_SECRET_TENANTS="+killTenant+"=KILL", "INTHUB_SECRET_KILL_GITLAB="+secret,
		"INTHUB_PIPELINE_POLL_INTERVAL=100ms", "INTHUB_PIPELINE_MAX_POLL_INTERVAL=200ms",
		// A killed process's leases run out after this.
		"INTHUB_PIPELINE_LEASE_TTL=1s")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	killed := false
	kill = func() {
		if !killed {
			killed = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	e.t.Cleanup(kill)
	return kill
}

// TestRunnerKilledWhileFollowing kills the only runner process with SIGKILL
// (kill -9) while it follows five running pipelines of a fake GitLab (held
// running until the kill) and starts another: it takes the runs over once
// their leases run out, and each run has exactly one pipeline.run.started,
// the transitions queued>running>succeeded once each and exactly one
// pipeline.run.completed; the provider was triggered once per run.
func TestRunnerKilledWhileFollowing(t *testing.T) {
	t.Parallel()
	const runs = 5
	e := newEnv(t, 1, contracts.RunSucceeded)
	fake := gitlabfake.NewFlow(t)
	srv := fake.Flow()
	config, secret := srv.Integration("env://INTHUB_SECRET_KILL_GITLAB")
	fake.HoldRunning(true)
	itID := e.putIntegration("gitlab-ci", config, "env://INTHUB_SECRET_KILL_GITLAB")
	kill := e.startRunnerProcess(secret)

	pipeline := srv.Pipeline(contracts.RunSucceeded)
	var ids []string
	for i := range runs {
		cmd := contracts.PipelineTriggerRequested{RequestID: fmt.Sprintf("kill-%d", i), TenantID: killTenant, IntegrationID: itID,
			Pipeline: pipeline, Ref: srv.Ref(), Parameters: map[string]string{"RUN": fmt.Sprint(i)}}
		ids = append(ids, RunID(cmd))
		if _, err := e.client.Publisher().Publish(context.Background(), bus.Event{
			Subject: contracts.Subject(contracts.SubjectPipelineTrigger, killTenant, itID), TenantID: killTenant, DataSubject: itID, Data: cmd,
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every run running", func() bool {
		for _, id := range ids {
			if !slices.ContainsFunc(e.events.of(id)[contracts.SubjectRunChanged], func(ev contracts.PipelineRunEvent) bool {
				return ev.Run.Status == contracts.RunRunning
			}) {
				return false
			}
		}
		return true
	})
	kill()
	if n := e.events.completed(); n != 0 {
		t.Fatalf("%d runs completed before the kill: they must be in flight", n)
	}
	fake.HoldRunning(false)
	e.startRunnerProcess(secret)
	waitFor(t, "every completion", func() bool { return e.events.completed() >= runs })
	time.Sleep(500 * time.Millisecond) // a duplicate would show
	for _, id := range ids {
		evs := e.events.of(id)
		if len(evs[contracts.SubjectRunStarted]) != 1 || len(evs[contracts.SubjectRunCompleted]) != 1 {
			t.Errorf("run %s: %d started, %d completed; want one each", id, len(evs[contracts.SubjectRunStarted]), len(evs[contracts.SubjectRunCompleted]))
			continue
		}
		if got := statuses(evs[contracts.SubjectRunChanged]); !slices.Equal(got, []string{"queued>running", "running>succeeded"}) {
			t.Errorf("run %s: transitions %v", id, got)
		}
		if done := evs[contracts.SubjectRunCompleted][0].Run; done.Status != contracts.RunSucceeded {
			t.Errorf("run %s completed %s", id, done.Status)
		}
	}
	if n, _ := srv.Started(pipeline); n != runs {
		t.Errorf("the provider was triggered %d times, want %d", n, runs)
	}
}

// putIntegration stores an integration of typeID of killTenant as the
// manager would.
func (e *env) putIntegration(typeID string, config map[string]any, credentialRef string) string {
	e.t.Helper()
	ctx := context.Background()
	kv, err := e.client.JetStream().KeyValue(ctx, catalog.BucketIntegrations)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now().UTC()
	it := contracts.Integration{ID: uuid.NewString(), TenantID: killTenant, TypeID: typeID, Name: typeID, Config: config, CredentialRef: credentialRef,
		HealthStatus: contracts.HealthUnknown, Labels: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	b, _ := json.Marshal(it)
	if _, err := kv.Put(ctx, killTenant+"."+it.ID, b); err != nil {
		e.t.Fatal(err)
	}
	return it.ID
}
