package pipelinerunner

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestATransitionStoredButNotAnnouncedIsAnnouncedByTheNextOwner: an owner
// stored a run's move to running, then was killed before its
// pipeline.run.changed was out, and the provider finished the run
// meanwhile. The next owner announces the stored transition under its id
// (queued>running) before reading the provider, then running>succeeded:
// before, an event published ahead of its record let the next owner see
// queued and announce queued>succeeded under another id.
func TestATransitionStoredButNotAnnouncedIsAnnouncedByTheNextOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0, contracts.RunSucceeded)
	ctx := context.Background()
	kv, err := e.client.JetStream().CreateOrUpdateKeyValue(ctx, RunsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	// The provider's run, finished while nobody followed it.
	ref, err := e.ci.Trigger(ctx, "deploy", "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.ci.runs[ref.ID].status = contracts.RunSucceeded
	now := time.Now().UTC()
	runID := "run-announcing"
	rec := record{
		Run: contracts.PipelineRun{RunID: runID, TenantID: tenant, IntegrationID: e.itID, Pipeline: "deploy", Ref: "main",
			Status: contracts.RunRunning, ProviderRunID: ref.ID, CreatedAt: now, UpdatedAt: now},
		Provider: connectors.RunRef(ref), Phase: phaseFollowing, Started: true, Transitions: 1,
		Announcing: &announcement{ID: runID + ":1:running", Previous: contracts.RunQueued},
		// Its owner's lease ran out.
		Owner: "killed", LeaseUntil: now.Add(-time.Second), NextPoll: now,
	}
	if _, ok, err := (&runStore{js: e.client.JetStream(), kv: kv}).create(ctx, rec); err != nil || !ok {
		t.Fatalf("store the run: %v %v", ok, err)
	}
	e.start()
	waitFor(t, "the run's completion", func() bool { return len(e.events.of(runID)[contracts.SubjectRunCompleted]) == 1 })
	time.Sleep(300 * time.Millisecond) // a duplicate would show
	evs := e.events.of(runID)
	if got, want := statuses(evs[contracts.SubjectRunChanged]), []string{"queued>running", "running>succeeded"}; !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if n := len(evs[contracts.SubjectRunCompleted]); n != 1 {
		t.Fatalf("%d completed events, want one", n)
	}
}
