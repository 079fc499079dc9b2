package metricsanalyzer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
)

// BucketAnalysisRuns is the analyzer's own bucket: one record per run by
// <tenantId>.<runId>, written only by metrics-analyzer replicas, each
// write conditional on the revision read.
const BucketAnalysisRuns = "analysis-runs"

// runTTL is how long a run's record is kept (for reads and for a repeated
// request of the same run id).
const runTTL = 7 * 24 * time.Hour

// AnalysisRunsBucket is the definition of BucketAnalysisRuns.
func AnalysisRunsBucket(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      BucketAnalysisRuns,
		Description: "Integration Hub analysis runs by <tenantId>.<runId>",
		History:     1,
		TTL:         runTTL,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	}
}

// runRecord is a run's whole state. Every step of a run is one
// conditional write of it, so whichever replica is alive takes the next
// step, and none is taken twice: a measurement is stored before it is
// published (Published counts those out), and the verdict is stored
// before analysis.run.completed goes out with a message id of the run,
// which the stream stores once however often a replica retries it.
type runRecord struct {
	Request   contracts.AnalysisRunRequested `json:"request"`
	Metrics   []metricState                  `json:"metrics"`
	CreatedAt time.Time                      `json:"createdAt"`
	Cancelled bool                           `json:"cancelled,omitempty"`
	// Verdict, once set, is final; Refusal is the error of a request
	// refused before its first measurement.
	Verdict     string               `json:"verdict,omitempty"`
	Message     string               `json:"message,omitempty"`
	Refusal     *contracts.ErrorBody `json:"refusal,omitempty"`
	CompletedAt time.Time            `json:"completedAt,omitzero"`
	// Announced: analysis.run.completed is in the stream.
	Announced bool `json:"announced,omitempty"`
}

// metricState is one metric's measurements and counters.
type metricState struct {
	Measurements      []contracts.AnalysisMeasurement `json:"measurements"`
	Published         int                             `json:"published"`
	NextAt            time.Time                       `json:"nextAt"`
	Phase             string                          `json:"phase,omitempty"`
	Message           string                          `json:"message,omitempty"`
	ConsecutiveErrors int                             `json:"consecutiveErrors"`
}

func runKey(tenantID, runID string) string { return tenantID + "." + runID }

// loadRun reads a run; found is false for none.
func loadRun(ctx context.Context, kv jetstream.KeyValue, key string) (runRecord, uint64, bool, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return runRecord{}, 0, false, nil
	}
	if err != nil {
		return runRecord{}, 0, false, fmt.Errorf("read analysis run %s: %w", key, err)
	}
	var r runRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return runRecord{}, 0, false, fmt.Errorf("decode analysis run %s: %w", key, err)
	}
	return r, e.Revision(), true, nil
}

// saveRun writes r if the record is still at rev (0: if there is none).
func saveRun(ctx context.Context, kv jetstream.KeyValue, key string, r runRecord, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		return kv.Create(ctx, key, b)
	}
	return kv.Update(ctx, key, b, rev)
}

// count tallies a metric's measurements by phase.
func (m metricState) count() (ok, failed, inconclusive, errs int) {
	for _, x := range m.Measurements {
		switch x.Phase {
		case contracts.AnalysisSuccessful:
			ok++
		case contracts.AnalysisFailed:
			failed++
		case contracts.AnalysisInconclusive:
			inconclusive++
		default:
			errs++
		}
	}
	return
}

// settle decides a metric's phase after a measurement, as Argo Rollouts
// does: more failures than failureLimit fail it, more inconclusive
// measurements than inconclusiveLimit make it inconclusive, more errors in
// a row than consecutiveErrorLimit make it an error, and having taken
// count measurements within those limits makes it successful.
func (m *metricState) settle(spec contracts.AnalysisMetric) {
	_, failed, inconclusive, _ := m.count()
	switch {
	case failed > spec.FailureLimit:
		m.Phase, m.Message = contracts.AnalysisFailed, fmt.Sprintf("%d failed measurements, more than failureLimit %d", failed, spec.FailureLimit)
	case inconclusive > spec.InconclusiveLimit:
		m.Phase, m.Message = contracts.AnalysisInconclusive, fmt.Sprintf("%d inconclusive measurements, more than inconclusiveLimit %d", inconclusive, spec.InconclusiveLimit)
	case m.ConsecutiveErrors > errorLimit(spec):
		m.Phase, m.Message = contracts.AnalysisError, fmt.Sprintf("%d measurements in a row could not be taken, more than consecutiveErrorLimit %d", m.ConsecutiveErrors, errorLimit(spec))
	case len(m.Measurements) >= countOf(spec):
		m.Phase = contracts.AnalysisSuccessful
	}
}

// decide sets the run's verdict once its metrics allow one: a failed
// metric fails the run at once; otherwise, once every metric has a phase,
// an error beats inconclusive, which beats successful. A cancelled run is
// inconclusive.
func (r *runRecord) decide(now time.Time) {
	if r.Verdict != "" {
		return
	}
	pending, errs, inconclusive := 0, 0, 0
	for _, m := range r.Metrics {
		switch m.Phase {
		case "":
			pending++
		case contracts.AnalysisFailed:
			r.finish(contracts.AnalysisFailed, "a metric failed", now)
			return
		case contracts.AnalysisError:
			errs++
		case contracts.AnalysisInconclusive:
			inconclusive++
		}
	}
	switch {
	case r.Cancelled:
		r.finish(contracts.AnalysisInconclusive, "cancelled", now)
	case pending > 0:
	case errs > 0:
		r.finish(contracts.AnalysisError, "a metric could not be measured", now)
	case inconclusive > 0:
		r.finish(contracts.AnalysisInconclusive, "a metric was inconclusive", now)
	default:
		r.finish(contracts.AnalysisSuccessful, "every metric held", now)
	}
}

func (r *runRecord) finish(verdict, message string, now time.Time) {
	r.Verdict, r.Message, r.CompletedAt = verdict, message, now.UTC()
}

// completed is the run's analysis.run.completed.
func (r runRecord) completed() contracts.AnalysisRunCompleted {
	out := contracts.AnalysisRunCompleted{
		RunID: r.Request.RunID, TenantID: r.Request.TenantID, Verdict: r.Verdict, Message: r.Message,
		Error: r.Refusal, CompletedAt: r.CompletedAt, Metrics: []contracts.AnalysisMetricResult{},
	}
	for i, m := range r.Metrics {
		ok, failed, inconclusive, errs := m.count()
		phase := m.Phase
		if phase == "" {
			phase = contracts.AnalysisInconclusive // ended before it was decided
		}
		out.Metrics = append(out.Metrics, contracts.AnalysisMetricResult{
			Name: r.Request.Metrics[i].Name, Phase: phase, Measurements: len(m.Measurements),
			Successful: ok, Failed: failed, Inconclusive: inconclusive, Errors: errs, Message: m.Message,
		})
	}
	return out
}

// Defaults of a metric.
const (
	defaultInterval   = time.Minute
	defaultErrorLimit = 4
	// minInterval keeps a run from hammering a provider.
	minInterval = 100 * time.Millisecond
	maxCount    = 1000
)

func intervalOf(m contracts.AnalysisMetric) time.Duration {
	d, err := time.ParseDuration(m.Interval)
	if m.Interval == "" || err != nil {
		return defaultInterval
	}
	return d
}

func countOf(m contracts.AnalysisMetric) int { return max(m.Count, 1) }

func errorLimit(m contracts.AnalysisMetric) int {
	if m.ConsecutiveErrorLimit == nil {
		return defaultErrorLimit
	}
	return *m.ConsecutiveErrorLimit
}

// measuredID and completedID are the message ids that make a republish of
// the same step a duplicate the stream drops.
func measuredID(runID string, metric, index int) string {
	return "analysis-measured:" + runID + ":" + strconv.Itoa(metric) + ":" + strconv.Itoa(index)
}

func completedID(runID string) string { return "analysis-completed:" + runID }
