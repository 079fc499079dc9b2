package contracts

import "time"

// MetricsQuery is one query in the provider's own language (PromQL, a
// Datadog metric query, NRQL, a Dynatrace metric selector). Without Start
// it is an instant query at Time (now when absent); with Start, End and
// StepSeconds it is a range query.
type MetricsQuery struct {
	Query string     `json:"query"`
	Time  *time.Time `json:"time,omitempty"`
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
	// StepSeconds is the resolution of a range query.
	StepSeconds float64 `json:"stepSeconds,omitempty"`
}

// IsRange says whether q asks for a range rather than an instant.
func (q MetricsQuery) IsRange() bool { return q.Start != nil }

// MetricsResult is the normalized answer of every metrics provider: series
// of labels and timestamped values. An empty Series is "no data", an
// outcome distinct from an error.
type MetricsResult struct {
	Series []MetricSeries `json:"series"`
}

// MetricSeries is one series: its labels (the provider's tags, facets or
// dimensions), its unit where the provider gives one, and its points in
// time order.
type MetricSeries struct {
	Labels map[string]string `json:"labels"`
	Unit   string            `json:"unit,omitempty"`
	Points []MetricPoint     `json:"points"`
}

// MetricPoint is one value at one time. Value is absent (nil) when the
// provider's value is not a finite number (NaN, ±Inf), which JSON cannot
// carry.
type MetricPoint struct {
	Time  time.Time `json:"time"`
	Value *float64  `json:"value,omitempty"`
}

// MetricsQueryRequested is the command metrics.query.requested.
type MetricsQueryRequested struct {
	RequestID     string       `json:"requestId"`
	TenantID      string       `json:"tenantId"`
	IntegrationID string       `json:"integrationId"`
	Query         MetricsQuery `json:"query"`
}

// MetricsQueryCompleted is the event metrics.query.completed: the answer
// to metrics.query.requested, with exactly one of result and error.
type MetricsQueryCompleted struct {
	RequestID     string         `json:"requestId"`
	TenantID      string         `json:"tenantId"`
	IntegrationID string         `json:"integrationId"`
	Result        *MetricsResult `json:"result,omitempty"`
	Error         *ErrorBody     `json:"error,omitempty"`
}
