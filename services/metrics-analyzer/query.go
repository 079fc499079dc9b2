package metricsanalyzer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// handleQuery answers one metrics.query.requested with one
// metrics.query.completed carrying the series or an error.
func (s *service) handleQuery(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	cmd, err := bus.Decode[contracts.MetricsQueryRequested](m)
	if err != nil {
		return err
	}
	if cmd.RequestID == "" || m.Subject != contracts.Subject(contracts.SubjectMetricsQueryRequest, cmd.TenantID, cmd.IntegrationID) {
		// A body naming another tenant than its subject is refused, not answered.
		return bus.Permanent(fmt.Errorf("metrics query on %s: requestId, tenantId and integrationId must match its subject", m.Subject))
	}
	done := contracts.MetricsQueryCompleted{RequestID: cmd.RequestID, TenantID: cmd.TenantID, IntegrationID: cmd.IntegrationID}
	log := s.logger.With("tenant_id", cmd.TenantID, "integration_id", cmd.IntegrationID, "request_id", cmd.RequestID)
	res, qerr := s.query(ctx, cmd.TenantID, cmd.IntegrationID, cmd.Query)
	if qerr == nil {
		done.Result = &res
		log.DebugContext(ctx, "metrics query answered", "series", len(res.Series))
	} else if errors.Is(qerr, errLookup) {
		return qerr // the catalog could not be read: redelivered
	} else {
		done.Error = errorBody(qerr)
		level := slog.LevelWarn
		if isCallerError(done.Error.Code) {
			level = slog.LevelInfo
		}
		log.Log(ctx, level, "metrics query failed", "error_code", done.Error.Code, "error", done.Error.Message)
	}
	// The answer goes out even when the handler's time ran out: the
	// caller is waiting for it.
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	_, err = out.Publish(pubCtx, bus.Event{
		ID: "metrics-query:" + cmd.RequestID, Subject: contracts.Subject(contracts.SubjectMetricsQueryDone, cmd.TenantID, cmd.IntegrationID),
		TenantID: cmd.TenantID, DataSubject: cmd.IntegrationID, Data: done,
	})
	return err
}

// errLookup marks a catalog that could not be read (not "not found").
var errLookup = errors.New("catalog lookup failed")

// query runs q against the tenant's integration id, bounded by the
// configured timeout.
func (s *service) query(ctx context.Context, tenantID, id string, q contracts.MetricsQuery) (contracts.MetricsResult, error) {
	if err := connectors.CheckMetricsQuery(q); err != nil {
		return contracts.MetricsResult{}, err
	}
	it, found, err := s.view.Lookup(ctx, tenantID, id)
	if err != nil {
		return contracts.MetricsResult{}, fmt.Errorf("%w: %w", errLookup, err)
	}
	if !found {
		return contracts.MetricsResult{}, resilience.New(resilience.IntegrationNotFound, "integration %s not found", id)
	}
	conn, _, err := s.pool.Get(ctx, it)
	if err != nil {
		return contracts.MetricsResult{}, err
	}
	querier, ok := connectors.AsMetricsQuerier(conn)
	if !ok {
		return contracts.MetricsResult{}, resilience.New(resilience.NotSupported, "%s integrations do not answer metrics queries", it.TypeID)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	return querier.Query(ctx, q)
}

// errorBody renders a failed query: a bad query as 400
// INVALID_METRICS_QUERY, any other with its connector code (and
// retryAfterSeconds for RATE_LIMITED), which the ingress maps to a status.
func errorBody(err error) *contracts.ErrorBody {
	if errors.Is(err, connectors.ErrBadQuery) {
		return &contracts.ErrorBody{Code: apierr.InvalidMetricsQuery, Message: resilience.MessageOf(err)}
	}
	body := &contracts.ErrorBody{Code: string(resilience.CodeOf(err)), Message: err.Error()}
	if wait := resilience.RetryAfterOf(err); wait > 0 {
		body.Details = map[string]any{"retryAfterSeconds": int(math.Ceil(wait.Seconds()))}
	}
	return body
}

// isCallerError says whether a code is the caller's doing rather than the
// provider's or the hub's.
func isCallerError(code string) bool {
	switch code {
	case apierr.InvalidMetricsQuery, string(resilience.IntegrationNotFound), string(resilience.NotSupported):
		return true
	}
	return false
}
