// Package pipelineruns is the pipeline-runner's request-reply contract for
// reading its runs and receiving providers' webhooks
// (inthub.pipeline-runner.runs.* and .hooks.receive, served with the nats
// micro package) and the client the ingress calls it with. Like the
// catalog's, every request names its tenant and errors travel as the API's
// ErrorBody. It also derives run ids, so that whoever sends a trigger
// command knows the id of the run it starts.
package pipelineruns

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Subjects of the runner's endpoints.
const (
	ServiceName   = "inthub-pipeline-runner"
	SubjectPrefix = "inthub.pipeline-runner"
	SubjectGet    = SubjectPrefix + ".runs.get"
	SubjectList   = SubjectPrefix + ".runs.list"
	// SubjectHook receives a provider's webhook, relayed by the ingress.
	SubjectHook = SubjectPrefix + ".hooks.receive"
)

// MaxHookBody bounds a relayed webhook's body: base64 in JSON, it stays
// under the NATS default max payload of 1 MiB.
const MaxHookBody = 512 << 10

// HookRequest is a provider's webhook as the ingress received it: no
// tenant (a provider signs, it holds no token), the integration from the
// path, the raw body and the signature headers the runner checks.
type HookRequest struct {
	IntegrationID string `json:"integrationId"`
	// Headers holds only the signature headers present (X-Gitlab-Token,
	// X-Hub-Signature-256, Circleci-Signature; Drone's Signature with the
	// Date and Digest it signs), by canonical name.
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"`
}

// HookHeaders are the headers the ingress relays.
var HookHeaders = []string{"X-Gitlab-Token", "X-Hub-Signature-256", "Circleci-Signature", "Signature", "Date", "Digest"}

// HookAccepted answers a webhook whose signature holds: Runs open runs of
// the integration are read at once.
type HookAccepted struct {
	Runs int `json:"runs"`
}

// RunNotFound: no such run of the integration in the caller's tenant (404).
const RunNotFound = "PIPELINE_RUN_NOT_FOUND"

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// GetRequest reads one run of an integration.
type GetRequest struct {
	TenantID      string `json:"tenantId"`
	IntegrationID string `json:"integrationId"`
	RunID         string `json:"runId"`
}

// ListRequest lists an integration's runs, newest first. Cursor is the
// nextCursor of the page before.
type ListRequest struct {
	TenantID      string `json:"tenantId"`
	IntegrationID string `json:"integrationId"`
	Limit         int    `json:"limit,omitempty"`
	Cursor        string `json:"cursor,omitempty"`
}

// runNamespace derives run ids: the same tenant, integration and key (or
// request id) always name the same run, which is what makes a retried
// trigger start no second run.
var runNamespace = uuid.MustParse("6f1c7f3e-2b8d-4f5a-9c61-3d2e8a7b0c14")

// RunID is the id of the run a trigger command starts.
func RunID(cmd contracts.PipelineTriggerRequested) string {
	key := "request:" + cmd.RequestID
	if cmd.IdempotencyKey != "" {
		key = "key:" + cmd.IdempotencyKey
	}
	return uuid.NewSHA1(runNamespace, []byte(cmd.TenantID+"\x00"+cmd.IntegrationID+"\x00"+key)).String()
}

// Client calls the pipeline-runner over NATS request-reply.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// NewClient returns a client; timeout bounds each call (default 10s).
func NewClient(nc *nats.Conn, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Client{nc: nc, timeout: timeout}
}

// Get reads one run.
func (c *Client) Get(ctx context.Context, r GetRequest) (contracts.PipelineRun, error) {
	var out contracts.PipelineRun
	return out, bus.Request(ctx, c.nc, "pipeline-runner", SubjectGet, c.timeout, r, &out)
}

// Hook relays a provider's webhook.
func (c *Client) Hook(ctx context.Context, r HookRequest) (HookAccepted, error) {
	var out HookAccepted
	return out, bus.Request(ctx, c.nc, "pipeline-runner", SubjectHook, c.timeout, r, &out)
}

// List reads a page of an integration's runs.
func (c *Client) List(ctx context.Context, r ListRequest) (contracts.PipelineRunList, error) {
	var out contracts.PipelineRunList
	return out, bus.Request(ctx, c.nc, "pipeline-runner", SubjectList, c.timeout, r, &out)
}
