package metricsanalyzer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxMetrics bounds the metrics of one run.
const maxMetrics = 20

// handleRunRequested checks a requested run and stores it: a run that
// passes starts measuring on the next tick, one that does not is stored
// already decided (verdict error with the refusal), so either way the
// scheduler publishes its one analysis.run.completed. A run id seen
// before starts nothing.
func (s *service) handleRunRequested(ctx context.Context, m *bus.Message, _ *bus.Producer) error {
	cmd, err := bus.Decode[contracts.AnalysisRunRequested](m)
	if err != nil {
		return err
	}
	if cmd.RunID == "" || m.Subject != contracts.Subject(contracts.SubjectAnalysisRequested, cmd.TenantID, cmd.RunID) {
		return bus.Permanent(fmt.Errorf("analysis run on %s: runId and tenantId must match its subject", m.Subject))
	}
	key := runKey(cmd.TenantID, cmd.RunID)
	if _, _, found, err := loadRun(ctx, s.runs, key); err != nil || found {
		return err // a repeated request, or a bucket to read again
	}
	now := s.cfg.Clock()
	rec := newRecord(cmd, now)
	log := s.logger.With("tenant_id", cmd.TenantID, "run_id", cmd.RunID)
	if refusal := s.check(ctx, cmd); refusal != nil {
		if errors.Is(refusal, errLookup) {
			return refusal // the catalog could not be read: redelivered
		}
		rec.Refusal = errorBodyOf(refusal)
		rec.Metrics = nil
		rec.finish(contracts.AnalysisError, "the request was refused", now)
		log.InfoContext(ctx, "analysis run refused", "error_code", rec.Refusal.Code, "error", rec.Refusal.Message)
	} else {
		log.InfoContext(ctx, "analysis run started", "metrics", len(cmd.Metrics))
	}
	if _, err := saveRun(ctx, s.runs, key, rec, 0); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return err
	}
	s.kick()
	return nil
}

// newRecord is a run that measures its metrics from now on.
func newRecord(r contracts.AnalysisRunRequested, now time.Time) runRecord {
	rec := runRecord{Request: r, CreatedAt: now.UTC(), Metrics: make([]metricState, len(r.Metrics))}
	for i := range rec.Metrics {
		rec.Metrics[i] = metricState{Measurements: []contracts.AnalysisMeasurement{}, NextAt: now.UTC()}
	}
	return rec
}

// check refuses, before any measurement, a run that could never be
// measured as asked: a bad shape, a condition that does not compile to a
// boolean, an integration that is missing or not a metrics provider, or a
// query the provider refuses (each query runs once now; a provider that
// cannot be reached refuses the run with its code, since the query cannot
// be checked).
func (s *service) check(ctx context.Context, r contracts.AnalysisRunRequested) error {
	if len(r.Metrics) == 0 || len(r.Metrics) > maxMetrics {
		return invalid("metrics", "a run has 1 to %d metrics", maxMetrics)
	}
	names := map[string]bool{}
	for i, m := range r.Metrics {
		field := fmt.Sprintf("metrics[%d]", i)
		switch {
		case m.Name == "" || names[m.Name]:
			return invalid(field+".name", "every metric needs a name of its own")
		case m.SuccessCondition == "" && m.FailureCondition == "":
			return invalid(field, "a metric needs a successCondition, a failureCondition or both")
		case m.Count < 0 || m.Count > maxCount || m.FailureLimit < 0 || m.InconclusiveLimit < 0 ||
			(m.ConsecutiveErrorLimit != nil && *m.ConsecutiveErrorLimit < 0):
			return invalid(field, "count must be 0 to %d and the limits not negative", maxCount)
		}
		names[m.Name] = true
		if m.Interval != "" {
			if d, err := time.ParseDuration(m.Interval); err != nil || d < minInterval {
				return invalid(field+".interval", "interval must be a duration of at least %s, such as 30s or 5m", minInterval)
			}
		}
		for _, c := range []struct{ name, src string }{{"successCondition", m.SuccessCondition}, {"failureCondition", m.FailureCondition}} {
			if _, err := compileCondition(c.src); err != nil {
				return &apierr.Error{Status: 400, Code: apierr.InvalidCondition, Message: fmt.Sprintf("%s.%s: %v", field, c.name, err),
					Details: map[string]any{"field": field + "." + c.name}}
			}
		}
		if _, err := s.query(ctx, r.TenantID, m.IntegrationID, contracts.MetricsQuery{Query: m.Query}); err != nil {
			if errors.Is(err, errLookup) {
				return err
			}
			return fmt.Errorf("%s.query: %w", field, err)
		}
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return apierr.BadRequest(apierr.ValidationFailed, format, args...).With("field", field)
}

// errorBodyOf renders a refusal: an API error as it is, a connector error
// as errorBody does.
func errorBodyOf(err error) *contracts.ErrorBody {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		b := ae.Body()
		return &b
	}
	return errorBody(err)
}

// handleCancel marks a run cancelled; the scheduler completes it. A run
// already decided, or unknown, is left as it is.
func (s *service) handleCancel(ctx context.Context, m *bus.Message, _ *bus.Producer) error {
	cmd, err := bus.Decode[contracts.AnalysisRunCancelRequested](m)
	if err != nil {
		return err
	}
	if cmd.RunID == "" || m.Subject != contracts.Subject(contracts.SubjectAnalysisCancel, cmd.TenantID, cmd.RunID) {
		return bus.Permanent(fmt.Errorf("analysis cancel on %s: runId and tenantId must match its subject", m.Subject))
	}
	key := runKey(cmd.TenantID, cmd.RunID)
	rec, rev, found, err := loadRun(ctx, s.runs, key)
	if err != nil || !found || rec.Verdict != "" || rec.Cancelled {
		return err
	}
	rec.Cancelled = true
	if _, err := saveRun(ctx, s.runs, key, rec, rev); err != nil {
		return err // a concurrent step: redelivered, read again
	}
	s.kick()
	return nil
}

// schedule takes every run's next step each tick (or at once when kicked)
// until ctx ends.
func (s *service) schedule(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
		keys, err := bus.BucketKeys(ctx, s.js, s.runs, ">")
		if err != nil {
			s.logger.WarnContext(ctx, "list analysis runs", "error", err)
			continue
		}
		for _, key := range keys {
			if err := s.advance(ctx, key); err != nil && ctx.Err() == nil {
				s.logger.WarnContext(ctx, "analysis run step", "key", key, "error", err)
			}
		}
	}
}

// kick wakes the scheduler without waiting for its tick.
func (s *service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// advance takes the steps of one run that are due: publish what is
// stored and not yet published, then measure what is due and store it.
// A write that loses to another replica's drops this replica's step.
func (s *service) advance(ctx context.Context, key string) error {
	for range 4 {
		rec, rev, found, err := loadRun(ctx, s.runs, key)
		if err != nil || !found || rec.Announced {
			return err
		}
		progressed, err := s.step(ctx, &rec)
		if err != nil || !progressed {
			return err
		}
		if _, err := saveRun(ctx, s.runs, key, rec, rev); err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
				return nil // another replica took this step
			}
			return err
		}
	}
	return nil
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// step takes one run's next step on rec and says whether it changed it.
func (s *service) step(ctx context.Context, rec *runRecord) (bool, error) {
	r := rec.Request
	// 1. Publish stored measurements.
	published := false
	for i := range rec.Metrics {
		m := &rec.Metrics[i]
		for ; m.Published < len(m.Measurements); m.Published++ {
			ev := contracts.AnalysisRunMeasured{RunID: r.RunID, TenantID: r.TenantID, Measurement: m.Measurements[m.Published]}
			if err := s.publish(ctx, measuredID(r.RunID, i, m.Published), contracts.SubjectAnalysisMeasured, r, ev); err != nil {
				return false, err
			}
			published = true
		}
	}
	if published {
		// A published measurement's series live on in its event: the record
		// keeps only the latest's, so a long run stays within a KV value.
		for i := range rec.Metrics {
			m := &rec.Metrics[i]
			for j := 0; j < m.Published-1; j++ {
				m.Measurements[j].Result = nil
			}
		}
		return true, nil
	}
	// 2. Announce a decided run, once.
	if rec.Verdict != "" {
		if err := s.publish(ctx, completedID(r.RunID), contracts.SubjectAnalysisCompleted, r, rec.completed()); err != nil {
			return false, err
		}
		rec.Announced = true
		s.logger.InfoContext(ctx, "analysis run completed", "tenant_id", r.TenantID, "run_id", r.RunID, "verdict", rec.Verdict)
		return true, nil
	}
	// 3. Measure what is due, then decide.
	now := s.cfg.Clock()
	measured := false
	if !rec.Cancelled {
		for i := range rec.Metrics {
			m := &rec.Metrics[i]
			spec := r.Metrics[i]
			if m.Phase != "" || now.Before(m.NextAt) {
				continue
			}
			x := s.measure(ctx, r.TenantID, spec, len(m.Measurements))
			m.Measurements = append(m.Measurements, x)
			if x.Phase == contracts.AnalysisError {
				m.ConsecutiveErrors++
			} else {
				m.ConsecutiveErrors = 0
			}
			m.NextAt = now.Add(intervalOf(spec)).UTC()
			m.settle(spec)
			measured = true
		}
	}
	before := rec.Verdict
	rec.decide(now)
	return measured || rec.Verdict != before, nil
}

// measure takes one measurement of a metric. A provider that cannot be
// asked is an error measurement, never a failed one.
func (s *service) measure(ctx context.Context, tenantID string, spec contracts.AnalysisMetric, index int) contracts.AnalysisMeasurement {
	x := contracts.AnalysisMeasurement{Metric: spec.Name, Index: index}
	res, err := s.query(ctx, tenantID, spec.IntegrationID, contracts.MetricsQuery{Query: spec.Query})
	x.MeasuredAt = s.cfg.Clock().UTC()
	if err != nil {
		x.Phase, x.Error = contracts.AnalysisError, errorBody(err)
		return x
	}
	x.Result = &res
	success, _ := compileCondition(spec.SuccessCondition)
	failure, _ := compileCondition(spec.FailureCondition)
	phase, err := judge(success, failure, res)
	x.Phase = phase
	if err != nil {
		x.Error = &contracts.ErrorBody{Code: string(resilience.InvalidConfig), Message: err.Error()}
	}
	return x
}

// publish sends one analysis event with a message id the stream
// deduplicates.
func (s *service) publish(ctx context.Context, id, prefix string, r contracts.AnalysisRunRequested, data any) error {
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	_, err := s.out.Publish(pubCtx, bus.Event{
		ID: id, Subject: contracts.Subject(prefix, r.TenantID, r.RunID), TenantID: r.TenantID, DataSubject: r.RunID, Data: data,
	})
	return err
}
