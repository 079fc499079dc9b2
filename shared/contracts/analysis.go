package contracts

import "time"

// Verdicts of an analysis run and phases of a measurement.
const (
	AnalysisSuccessful   = "successful"
	AnalysisFailed       = "failed"
	AnalysisInconclusive = "inconclusive"
	AnalysisError        = "error"
)

// AnalysisMetric is one metric of an analysis run, in the model of Argo
// Rollouts' AnalysisTemplate: an instant query measured Count times, every
// Interval, each measurement judged by the conditions (expressions over
// the result); the metric fails when more than FailureLimit measurements
// fail, is inconclusive when more than InconclusiveLimit are (no data, or
// neither condition decided), and errs when more than
// ConsecutiveErrorLimit measurements in a row could not be taken.
type AnalysisMetric struct {
	Name          string `json:"name"`
	IntegrationID string `json:"integrationId"`
	// Query is an instant query in the provider's language, run at each
	// measurement.
	Query string `json:"query"`
	// SuccessCondition and FailureCondition are expr-lang expressions
	// giving a boolean over result (the latest value of each series, in
	// order) and series (the whole answer); at least one is given.
	SuccessCondition string `json:"successCondition,omitempty"`
	FailureCondition string `json:"failureCondition,omitempty"`
	// Interval between measurements, a Go duration such as 30s or 5m
	// (60s when absent).
	Interval string `json:"interval,omitempty"`
	// Count of measurements (1 when absent).
	Count             int `json:"count,omitempty"`
	FailureLimit      int `json:"failureLimit,omitempty"`
	InconclusiveLimit int `json:"inconclusiveLimit,omitempty"`
	// ConsecutiveErrorLimit is how many measurements in a row may fail to
	// be taken (4 when absent).
	ConsecutiveErrorLimit *int `json:"consecutiveErrorLimit,omitempty"`
}

// AnalysisRunRequested is the command analysis.run.requested. Its subject
// is analysis.run.requested.<tenantId>.<runId>; a repeated runId starts
// nothing new.
type AnalysisRunRequested struct {
	RunID    string           `json:"runId"`
	TenantID string           `json:"tenantId"`
	Metrics  []AnalysisMetric `json:"metrics"`
}

// AnalysisRunCancelRequested is the command analysis.run.cancel.requested:
// the run completes at once as inconclusive with what it measured.
type AnalysisRunCancelRequested struct {
	RunID    string `json:"runId"`
	TenantID string `json:"tenantId"`
}

// AnalysisMeasurement is one measurement of one metric: its phase
// (successful, failed, inconclusive or error), the series it judged, and
// the error of a measurement that could not be taken.
type AnalysisMeasurement struct {
	Metric     string         `json:"metric"`
	Index      int            `json:"index"`
	Phase      string         `json:"phase"`
	Result     *MetricsResult `json:"result,omitempty"`
	Error      *ErrorBody     `json:"error,omitempty"`
	MeasuredAt time.Time      `json:"measuredAt"`
}

// AnalysisRunMeasured is the event analysis.run.measured, one per
// measurement.
type AnalysisRunMeasured struct {
	RunID       string              `json:"runId"`
	TenantID    string              `json:"tenantId"`
	Measurement AnalysisMeasurement `json:"measurement"`
}

// AnalysisMetricResult is one metric's outcome in a completed run.
type AnalysisMetricResult struct {
	Name         string `json:"name"`
	Phase        string `json:"phase"`
	Measurements int    `json:"measurements"`
	Successful   int    `json:"successful"`
	Failed       int    `json:"failed"`
	Inconclusive int    `json:"inconclusive"`
	Errors       int    `json:"errors"`
	Message      string `json:"message,omitempty"`
}

// AnalysisRunCompleted is the event analysis.run.completed, published once
// per run: the verdict and each metric's result, or the error refusing
// the request (a bad query or condition: verdict error, no metrics).
type AnalysisRunCompleted struct {
	RunID       string                 `json:"runId"`
	TenantID    string                 `json:"tenantId"`
	Verdict     string                 `json:"verdict"`
	Metrics     []AnalysisMetricResult `json:"metrics"`
	Message     string                 `json:"message,omitempty"`
	Error       *ErrorBody             `json:"error,omitempty"`
	CompletedAt time.Time              `json:"completedAt"`
}

// AnalysisRunInput is the body of POST /api/v1/analysis-runs.
type AnalysisRunInput struct {
	Metrics []AnalysisMetric `json:"metrics"`
}

// AnalysisRun is a run as stored: what was asked, every measurement so
// far, and once completed its verdict and per-metric results.
type AnalysisRun struct {
	RunID        string                 `json:"runId"`
	TenantID     string                 `json:"tenantId"`
	Metrics      []AnalysisMetric       `json:"metrics"`
	Status       string                 `json:"status"` // running | completed
	Cancelled    bool                   `json:"cancelled,omitempty"`
	Verdict      string                 `json:"verdict,omitempty"`
	Message      string                 `json:"message,omitempty"`
	Error        *ErrorBody             `json:"error,omitempty"`
	Results      []AnalysisMetricResult `json:"results"`
	Measurements []AnalysisMeasurement  `json:"measurements"`
	CreatedAt    time.Time              `json:"createdAt"`
	CompletedAt  *time.Time             `json:"completedAt,omitempty"`
}
