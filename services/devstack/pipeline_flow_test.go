package devstack_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/services/devstack"
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors/cicd/azuredevops/azuredevopsfake"
	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci/circlecifake"
	"github.com/stella-ops/inthub/shared/connectors/cicd/drone/dronefake"
	"github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/githubactionsfake"
	"github.com/stella-ops/inthub/shared/connectors/cicd/jenkins/jenkinsfake"
	"github.com/stella-ops/inthub/shared/connectors/cicd/teamcity/teamcityfake"
	"github.com/stella-ops/inthub/shared/connectors/scm/gitlab/gitlabfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/pipelineruns"
)

// flowProviders are the CI providers the flow test drives: one row each,
// the provider's type id and its exported fake.
var flowProviders = []cicdtest.Provider{
	{ID: "gitlab-ci", Start: gitlabfake.Start},
	{ID: "github-actions", Start: githubactionsfake.Start},
	{ID: "jenkins", Start: jenkinsfake.Start},
	{ID: "azure-devops", Start: func(t *testing.T) cicdtest.Server { return azuredevopsfake.Start(t) }},
	{ID: "circleci", Start: func(t *testing.T) cicdtest.Server { return circlecifake.Start(t) }},
	{ID: "teamcity", Start: func(t *testing.T) cicdtest.Server { return teamcityfake.New(t) }},
	{ID: "drone", Start: func(t *testing.T) cicdtest.Server { return dronefake.New(t) }},
}

// flowPoll is the runner's first wait between two reads of a run (doubled
// while a run does not move). It is the window a cancel has to reach the
// runner after the run is seen running (the fakes move a run one state per
// read, so the read after running gives the verdict): the cancel makes the
// run due at once and is sent within a follower tick (a quarter of it).
const flowPoll = 1500 * time.Millisecond

// TestPipelineFlowPerProvider drives every CI provider through a running
// devstack and the real pipeline-runner, on the bus alone as the
// orchestrator does (the integration is created over HTTP, every trigger
// and cancel is a command): a trigger sent twice with one idempotency key
// and parameters starts exactly one run at the fake, with those
// parameters, and gives exactly one pipeline.run.started, the transitions
// queued>running>verdict once each and exactly one pipeline.run.completed;
// a pipeline whose runs fail completes failed; a cancel while running
// completes the run cancelled, once.
func TestPipelineFlowPerProvider(t *testing.T) {
	t.Parallel()
	type fixture struct {
		p      cicdtest.Provider
		srv    cicdtest.Server
		ref    string // the integration's credential reference
		config map[string]any
	}
	env := map[string]string{}
	var fixtures []fixture
	for _, p := range flowProviders {
		srv := p.Start(t)
		name := "INTHUB_SECRET_DEV_FLOW_" + strings.ToUpper(strings.ReplaceAll(p.ID, "-", "_"))
		config, secret := srv.Integration("env://" + name)
		env[name] = secret
		fixtures = append(fixtures, fixture{p: p, srv: srv, ref: "env://" + name, config: config})
	}
	local, _ := localSecrets(t, env)
	// step-ci is registered besides the shipped providers; nothing here
	// uses it.
	s := startPipelineStackWith(t, &stepCI{runs: map[string]contracts.PipelineRunStatus{}}, func(cfg *devstack.Config) {
		cfg.Local = &local
		// The fakes listen on loopback, which the guard refuses otherwise.
		cfg.Policy = httpx.GuardPolicy{AllowPrivate: true}
		cfg.Services.PipelineRunner = pipelinerunner.Config{PollInterval: flowPoll, MaxPollInterval: 2 * flowPoll}
	})
	events := s.followRuns()
	ids := make([]string, len(fixtures))
	for i, f := range fixtures {
		r := s.call("POST", "/api/v1/integrations", s.info.Token, map[string]any{
			"typeId": f.p.ID, "name": "flow " + f.p.ID, "credentialRef": f.ref, "config": f.config})
		if r.status != http.StatusCreated {
			t.Fatalf("%s: create: %d %s", f.p.ID, r.status, r.body)
		}
		var it contracts.Integration
		r.decode(&it)
		ids[i] = it.ID
	}
	tenant := devstack.DevTenantID
	publish := func(t *testing.T, prefix, integrationID string, data any) {
		t.Helper()
		if _, err := s.publisher().Publish(context.Background(), bus.Event{
			Subject: contracts.Subject(prefix, tenant, integrationID), TenantID: tenant, DataSubject: integrationID, Data: data,
		}); err != nil {
			t.Fatal(err)
		}
	}
	// trigger sends the command twice (two request ids, one key), as an
	// orchestrator retrying after a lost ack does, and returns the run id.
	trigger := func(t *testing.T, f fixture, integrationID, pipeline, key string) string {
		t.Helper()
		var runID string
		for _, req := range []string{key + "-1", key + "-2"} {
			cmd := contracts.PipelineTriggerRequested{RequestID: req, TenantID: tenant, IntegrationID: integrationID, Pipeline: pipeline,
				Ref: f.srv.Ref(), Parameters: cicdtest.Parameters(), IdempotencyKey: key}
			runID = pipelineruns.RunID(cmd)
			publish(t, contracts.SubjectPipelineTrigger, integrationID, cmd)
		}
		return runID
	}
	// startedOnce checks the fake started want runs of pipeline, the last
	// with the parameters.
	startedOnce := func(t *testing.T, f fixture, pipeline string, want int) {
		t.Helper()
		n, params := f.srv.Started(pipeline)
		if n != want || !maps.Equal(params, cicdtest.Parameters()) {
			t.Errorf("the fake started %d runs of %s, the last with %v; want %d with %v", n, pipeline, params, want, cicdtest.Parameters())
		}
	}
	for i, f := range fixtures {
		id := ids[i]
		t.Run(f.p.ID, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name    string
				verdict contracts.PipelineRunStatus
			}{
				{"succeeds", contracts.RunSucceeded},
				{"fails", contracts.RunFailed},
			} {
				t.Run(tc.name, func(t *testing.T) {
					pipeline := f.srv.Pipeline(tc.verdict)
					runID := trigger(t, f, id, pipeline, "flow-"+tc.name)
					events.waitCompleted(t, runID)
					events.checkRun(t, runID, tc.verdict)
					startedOnce(t, f, pipeline, 1)
				})
			}
			t.Run("cancelled while running", func(t *testing.T) {
				pipeline := f.srv.Pipeline(contracts.RunSucceeded)
				runID := trigger(t, f, id, pipeline, "flow-cancel")
				waitFlow(t, "the run running", func() bool {
					return slices.ContainsFunc(events.of(contracts.SubjectRunChanged, runID), func(e contracts.PipelineRunEvent) bool {
						return e.Run.Status == contracts.RunRunning
					})
				})
				publish(t, contracts.SubjectPipelineCancel, id, contracts.PipelineCancelRequested{
					RequestID: "flow-cancel-req", TenantID: tenant, IntegrationID: id, RunID: runID})
				events.waitCompleted(t, runID)
				events.checkRun(t, runID, contracts.RunCancelled)
				startedOnce(t, f, pipeline, 2) // the succeeding run's and this one
			})
		})
	}
}

// waitFlow waits for cond, at most 30 s.
func waitFlow(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
