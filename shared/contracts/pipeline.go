package contracts

import "time"

// PipelineRunStatus is the state of a pipeline run, the same five for every
// CI/CD provider (each connector maps its own states onto them).
type PipelineRunStatus string

// The run states. queued and running are open; the other three are final.
const (
	RunQueued    PipelineRunStatus = "queued"
	RunRunning   PipelineRunStatus = "running"
	RunSucceeded PipelineRunStatus = "succeeded"
	RunFailed    PipelineRunStatus = "failed"
	RunCancelled PipelineRunStatus = "cancelled"
)

// Final reports whether s ends a run.
func (s PipelineRunStatus) Final() bool {
	return s == RunSucceeded || s == RunFailed || s == RunCancelled
}

// PipelineTriggerRequested is the command pipeline.trigger.requested: start
// one run of a pipeline of a CI/CD integration. Commands with the same
// idempotencyKey (per tenant and integration) start one run; without one,
// the requestId plays its part.
type PipelineTriggerRequested struct {
	RequestID      string            `json:"requestId"`
	TenantID       string            `json:"tenantId"`
	IntegrationID  string            `json:"integrationId"`
	Pipeline       string            `json:"pipeline"`
	Ref            string            `json:"ref,omitempty"`
	Parameters     map[string]string `json:"parameters,omitempty"`
	IdempotencyKey string            `json:"idempotencyKey,omitempty"`
}

// PipelineCancelRequested is the command pipeline.cancel.requested: cancel
// a run the hub started.
type PipelineCancelRequested struct {
	RequestID     string `json:"requestId"`
	TenantID      string `json:"tenantId"`
	IntegrationID string `json:"integrationId"`
	RunID         string `json:"runId"`
}

// PipelineJob is one job (or stage) of a run as the provider reports it.
type PipelineJob struct {
	Name   string `json:"name"`
	Stage  string `json:"stage,omitempty"`
	Status string `json:"status"`
}

// PipelineRun is a run the hub started and follows.
type PipelineRun struct {
	// RunID is the hub's id of the run.
	RunID         string            `json:"runId"`
	TenantID      string            `json:"tenantId"`
	IntegrationID string            `json:"integrationId"`
	Pipeline      string            `json:"pipeline"`
	Ref           string            `json:"ref,omitempty"`
	Parameters    map[string]string `json:"parameters,omitempty"`
	// ProviderRunID is the provider's own id (a GitLab pipeline id, a
	// GitHub run id, a Jenkins build URL); empty until it is known.
	ProviderRunID string            `json:"providerRunId,omitempty"`
	Status        PipelineRunStatus `json:"status"`
	WebURL        string            `json:"webUrl,omitempty"`
	Jobs          []PipelineJob     `json:"jobs,omitempty"`
	// Error says why a run failed without the provider running it (the
	// trigger was refused) or could no longer be followed.
	Error       *ErrorBody `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
	// DurationMs is from the trigger to the final state, set once final.
	DurationMs int64 `json:"durationMs,omitempty"`
}

// PipelineRunEvent is the body of pipeline.run.started, pipeline.run.changed
// and pipeline.run.completed: the run as it is now, and on a change the
// status it left.
type PipelineRunEvent struct {
	EventID   string `json:"eventId"`
	RequestID string `json:"requestId,omitempty"`
	// Previous is the status before this change (changed and completed).
	Previous   PipelineRunStatus `json:"previous,omitempty"`
	Run        PipelineRun       `json:"run"`
	OccurredAt time.Time         `json:"occurredAt"`
}

// PipelineRunList is a page of runs.
type PipelineRunList struct {
	Items      []PipelineRun `json:"items"`
	NextCursor string        `json:"nextCursor,omitempty"`
}
