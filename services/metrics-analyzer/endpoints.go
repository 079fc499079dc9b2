package metricsanalyzer

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/analysisruns"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// uuidPattern is the shape of a run id (the last token of its subjects).
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// createRun serves inthub.analyzer.runs.create: the checks of
// analysis.run.requested, answered to the caller (a refusal stores
// nothing); a run id seen before answers that run.
func (s *service) createRun(ctx context.Context, r analysisruns.CreateRequest) (contracts.AnalysisRun, error) {
	if r.TenantID == "" || !uuidPattern.MatchString(r.RunID) {
		return contracts.AnalysisRun{}, apierr.BadRequest(apierr.ValidationFailed, "tenantId and a UUID runId are required")
	}
	key := runKey(r.TenantID, r.RunID)
	if rec, _, found, err := loadRun(ctx, s.runs, key); err != nil || found {
		return view(rec), err
	}
	req := contracts.AnalysisRunRequested{RunID: r.RunID, TenantID: r.TenantID, Metrics: r.Input.Metrics}
	if err := s.check(ctx, req); err != nil {
		return contracts.AnalysisRun{}, refusal(err)
	}
	rec := newRecord(req, s.cfg.Clock())
	if _, err := saveRun(ctx, s.runs, key, rec, 0); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			got, _, _, err := loadRun(ctx, s.runs, key)
			return view(got), err
		}
		return contracts.AnalysisRun{}, err
	}
	s.logger.InfoContext(ctx, "analysis run started", "tenant_id", r.TenantID, "run_id", r.RunID, "metrics", len(req.Metrics))
	s.kick()
	return view(rec), nil
}

// getRun serves inthub.analyzer.runs.get.
func (s *service) getRun(ctx context.Context, r analysisruns.GetRequest) (contracts.AnalysisRun, error) {
	rec, _, err := s.find(ctx, r.TenantID, r.ID)
	return view(rec), err
}

// cancelRun serves inthub.analyzer.runs.cancel: it marks the run
// cancelled (the scheduler completes it) and answers it.
func (s *service) cancelRun(ctx context.Context, r analysisruns.CancelRequest) (contracts.AnalysisRun, error) {
	for range 5 {
		rec, rev, err := s.find(ctx, r.TenantID, r.ID)
		if err != nil || rec.Verdict != "" || rec.Cancelled {
			return view(rec), err
		}
		rec.Cancelled = true
		if _, err := saveRun(ctx, s.runs, runKey(r.TenantID, r.ID), rec, rev); err == nil {
			s.kick()
			return view(rec), nil
		} else if !isWrongSequence(err) {
			return contracts.AnalysisRun{}, err
		}
	}
	return contracts.AnalysisRun{}, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the run kept changing; try again")
}

// find reads a run of the tenant; another tenant's answers like a missing one.
func (s *service) find(ctx context.Context, tenantID, id string) (runRecord, uint64, error) {
	notFound := apierr.New(http.StatusNotFound, analysisruns.RunNotFound, "analysis run %s not found", id)
	if tenantID == "" || !uuidPattern.MatchString(id) {
		return runRecord{}, 0, notFound
	}
	rec, rev, found, err := loadRun(ctx, s.runs, runKey(tenantID, id))
	if err == nil && !found {
		err = notFound
	}
	return rec, rev, err
}

// refusal gives a check's refusal its API status: the request's own
// faults are 400 (a metric naming a missing integration, or another
// tenant's, too: the body is wrong, not the URL), a provider that cannot
// be asked (so the query cannot be checked) 429, 502 or 504.
func refusal(err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	b := errorBody(err)
	status := http.StatusBadGateway
	switch resilience.Code(b.Code) {
	case apierr.InvalidMetricsQuery, resilience.InvalidConfig, resilience.NotSupported, resilience.IntegrationNotFound:
		status = http.StatusBadRequest
	case resilience.RateLimited:
		status = http.StatusTooManyRequests
	case resilience.Timeout:
		status = http.StatusGatewayTimeout
	}
	return apierr.FromBody(status, *b)
}

// view is the API's shape of a stored run.
func view(rec runRecord) contracts.AnalysisRun {
	r := rec.Request
	out := contracts.AnalysisRun{
		RunID: r.RunID, TenantID: r.TenantID, Metrics: r.Metrics, Status: "running", Cancelled: rec.Cancelled,
		Verdict: rec.Verdict, Message: rec.Message, Error: rec.Refusal, CreatedAt: rec.CreatedAt,
		Results: rec.completed().Metrics, Measurements: []contracts.AnalysisMeasurement{},
	}
	if out.Metrics == nil {
		out.Metrics = []contracts.AnalysisMetric{}
	}
	for _, m := range rec.Metrics {
		out.Measurements = append(out.Measurements, m.Measurements...)
	}
	if rec.Verdict != "" {
		out.Status = "completed"
		at := rec.CompletedAt
		out.CompletedAt = &at
	}
	return out
}
