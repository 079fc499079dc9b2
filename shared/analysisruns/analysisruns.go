// Package analysisruns is the metrics-analyzer's request-reply contract for
// analysis runs (inthub.analyzer.runs.*, served with the nats micro
// package) and the client the ingress calls it with. Every request names
// its tenant; a run of another tenant answers like a missing one, and
// errors travel as the API's ErrorBody.
package analysisruns

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Subjects of the analyzer's run endpoints.
const (
	ServiceName   = "inthub-metrics-analyzer"
	SubjectPrefix = "inthub.analyzer"
	SubjectCreate = SubjectPrefix + ".runs.create"
	SubjectGet    = SubjectPrefix + ".runs.get"
	SubjectCancel = SubjectPrefix + ".runs.cancel"
)

// RunNotFound: no such run in the caller's tenant (404).
const RunNotFound = "ANALYSIS_RUN_NOT_FOUND"

// CreateTimeout bounds a create: it runs each metric's query once.
const CreateTimeout = 45 * time.Second

// CreateRequest checks and starts a run. A bad query or condition is
// refused (4xx) and nothing is stored.
type CreateRequest struct {
	TenantID string                     `json:"tenantId"`
	RunID    string                     `json:"runId"`
	Input    contracts.AnalysisRunInput `json:"input"`
}

// GetRequest reads one run.
type GetRequest struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
}

// CancelRequest cancels a run; a completed run is answered as it is.
type CancelRequest struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
}

// Client calls the analyzer over NATS request-reply.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// NewClient returns a client; timeout bounds each call but a create
// (default 10s).
func NewClient(nc *nats.Conn, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Client{nc: nc, timeout: timeout}
}

// Create checks and starts a run.
func (c *Client) Create(ctx context.Context, r CreateRequest) (contracts.AnalysisRun, error) {
	var out contracts.AnalysisRun
	return out, bus.Request(ctx, c.nc, "metrics-analyzer", SubjectCreate, max(c.timeout, CreateTimeout), r, &out)
}

// Get reads one run.
func (c *Client) Get(ctx context.Context, r GetRequest) (contracts.AnalysisRun, error) {
	var out contracts.AnalysisRun
	return out, bus.Request(ctx, c.nc, "metrics-analyzer", SubjectGet, c.timeout, r, &out)
}

// Cancel cancels a run.
func (c *Client) Cancel(ctx context.Context, r CancelRequest) (contracts.AnalysisRun, error) {
	var out contracts.AnalysisRun
	return out, bus.Request(ctx, c.nc, "metrics-analyzer", SubjectCancel, c.timeout, r, &out)
}
