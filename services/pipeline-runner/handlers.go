package pipelinerunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/pipelineruns"
	"github.com/stella-ops/inthub/shared/resilience"
)

// runner holds the service's parts.
type runner struct {
	cfg     Config
	logger  *slog.Logger
	view    *catalog.View
	pool    *runtime.Pool
	store   *runStore
	out     *bus.Producer
	replica string
	limits  *limits
	active  *active
	// busy are the runs this replica reads now.
	busy busySet
	// wake makes the follower look for due runs before its next tick.
	wake chan struct{}
}

// RunID is the id of the run a trigger command starts (the same tenant,
// integration and key always name the same run).
func RunID(cmd contracts.PipelineTriggerRequested) string { return pipelineruns.RunID(cmd) }

func (r *runner) handleTrigger(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	cmd, err := bus.Decode[contracts.PipelineTriggerRequested](m)
	if err != nil {
		return err
	}
	if cmd.RequestID == "" || m.Subject != contracts.Subject(contracts.SubjectPipelineTrigger, cmd.TenantID, cmd.IntegrationID) {
		return bus.Permanent(fmt.Errorf("trigger command on %s: requestId, tenantId and integrationId must match its subject", m.Subject))
	}
	now := r.cfg.Clock().UTC()
	rec := record{
		Run: contracts.PipelineRun{
			RunID: RunID(cmd), TenantID: cmd.TenantID, IntegrationID: cmd.IntegrationID, Pipeline: cmd.Pipeline,
			Ref: cmd.Ref, Parameters: cmd.Parameters, Status: contracts.RunQueued, CreatedAt: now, UpdatedAt: now,
		},
		RequestID: cmd.RequestID, Phase: phaseTriggering, Owner: r.replica, LeaseUntil: now.Add(r.cfg.LeaseTTL),
	}
	log := r.logger.With("tenant_id", cmd.TenantID, "integration_id", cmd.IntegrationID, "run_id", rec.Run.RunID, "request_id", cmd.RequestID)
	// The provider call's turn under the integration's rate limit is
	// awaited before the run is stored: a stored run in "triggering" is
	// held for LeaseTTL only, and a follower that finds it past that
	// completes it as failed (its trigger handler presumed stopped). With
	// the runs of a busy integration polling, the wait can be longer.
	if err := r.limits.wait(ctx, cmd.TenantID+"."+cmd.IntegrationID); err != nil {
		return err
	}
	now = r.cfg.Clock().UTC()
	rec.Run.CreatedAt, rec.Run.UpdatedAt, rec.LeaseUntil = now, now, now.Add(r.cfg.LeaseTTL)
	rev, created, err := r.store.create(ctx, rec)
	if err != nil {
		return err
	}
	if !created {
		// A retry (same key, or the same command redelivered): the run
		// exists and is followed from its record.
		log.InfoContext(ctx, "pipeline trigger is a retry of a run that exists")
		return nil
	}
	provider, terr := r.trigger(ctx, cmd)
	if ctx.Err() != nil {
		// Stopping: the record stays "triggering" and a follower ends it.
		return ctx.Err()
	}
	now = r.cfg.Clock().UTC()
	rec.LeaseUntil, rec.Phase = now.Add(r.cfg.LeaseTTL), phaseFollowing
	rec.Run.UpdatedAt, rec.NextPoll, rec.Interval = now, now.Add(r.cfg.PollInterval), r.cfg.PollInterval
	if terr != nil {
		rec.Run.Status, rec.Run.Error = contracts.RunFailed, errorBody(terr)
		log.WarnContext(ctx, "pipeline trigger refused", "error_code", rec.Run.Error.Code, "error", rec.Run.Error.Message)
	} else {
		rec.Provider = provider
		rec.Run.ProviderRunID, rec.Run.WebURL = provider.ID, provider.WebURL
		log.InfoContext(ctx, "pipeline triggered", "provider_run_id", provider.ID)
	}
	if rev, err = r.store.update(ctx, rec, rev); err != nil {
		return err
	}
	// The started event goes out now rather than at the first poll; the
	// follower sends it too if this replica stops first.
	if err := r.settle(context.WithoutCancel(ctx), out, rec, rev, false); err != nil && !errors.Is(err, errConflict) {
		return err
	}
	return nil
}

// trigger builds the connector and starts the run.
func (r *runner) trigger(ctx context.Context, cmd contracts.PipelineTriggerRequested) (connectors.RunRef, error) {
	conn, err := r.connector(ctx, cmd.TenantID, cmd.IntegrationID)
	if err != nil {
		return connectors.RunRef{}, err
	}
	t, ok := connectors.AsTriggerer(conn)
	if !ok {
		return connectors.RunRef{}, resilience.New(resilience.NotSupported, "the integration cannot trigger pipelines")
	}
	if _, ok := connectors.AsRunFollower(conn); !ok {
		return connectors.RunRef{}, resilience.New(resilience.NotSupported, "the integration cannot report its runs")
	}
	// The rate limiter's turn was taken before the run was stored.
	cctx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	return t.Trigger(cctx, cmd.Pipeline, cmd.Ref, cmd.Parameters)
}

// connector returns the integration's connector.
func (r *runner) connector(ctx context.Context, tenantID, integrationID string) (connectors.Connector, error) {
	it, found, err := r.view.Lookup(ctx, tenantID, integrationID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, resilience.New(resilience.IntegrationNotFound, "integration %s not found", integrationID)
	}
	conn, _, err := r.pool.Get(ctx, it)
	return conn, err
}

func (r *runner) handleCancel(ctx context.Context, m *bus.Message, _ *bus.Producer) error {
	cmd, err := bus.Decode[contracts.PipelineCancelRequested](m)
	if err != nil {
		return err
	}
	if cmd.RunID == "" || m.Subject != contracts.Subject(contracts.SubjectPipelineCancel, cmd.TenantID, cmd.IntegrationID) {
		return bus.Permanent(fmt.Errorf("cancel command on %s: runId, tenantId and integrationId must match its subject", m.Subject))
	}
	log := r.logger.With("tenant_id", cmd.TenantID, "integration_id", cmd.IntegrationID, "run_id", cmd.RunID, "request_id", cmd.RequestID)
	for {
		rec, rev, found, err := r.store.get(ctx, runKey(cmd.TenantID, cmd.RunID))
		if err != nil {
			return err
		}
		if !found || rec.Run.IntegrationID != cmd.IntegrationID {
			log.InfoContext(ctx, "cancel of an unknown run ignored")
			return nil
		}
		if rec.Phase == phaseDone || rec.Run.Status.Final() || rec.CancelRequested {
			return nil
		}
		// The replica following the run sends the cancel at its next read,
		// which is now.
		rec.CancelRequested, rec.NextPoll = true, r.cfg.Clock().UTC()
		if _, err := r.store.update(ctx, rec, rev); errors.Is(err, errConflict) {
			continue
		} else if err != nil {
			return err
		}
		log.InfoContext(ctx, "pipeline cancel requested")
		return nil
	}
}

// errorBody is the run's error from a connector error.
func errorBody(err error) *contracts.ErrorBody {
	code := resilience.CodeOf(err)
	if code == "" {
		code = resilience.UpstreamError
	}
	return &contracts.ErrorBody{Code: string(code), Message: resilience.MessageOf(err)}
}
