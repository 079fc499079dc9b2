package catalog

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Client calls the manager over NATS request-reply.
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

// CreateResult is the answer to a create.
type CreateResult struct {
	contracts.Integration
	// Replayed says the answer is that of an earlier create with the same
	// idempotency key: nothing new was stored.
	Replayed bool
}

// Create creates an integration.
func (c *Client) Create(ctx context.Context, r CreateRequest) (CreateResult, error) {
	var out CreateResult
	h, err := bus.RequestHeader(ctx, c.nc, service, SubjectCreate, c.timeout, r, &out.Integration)
	out.Replayed = err == nil && h.Get(HeaderReplayed) == "true"
	return out, err
}

// Get reads one integration, health joined.
func (c *Client) Get(ctx context.Context, r GetRequest) (contracts.Integration, error) {
	var out contracts.Integration
	return out, c.call(ctx, SubjectGet, r, &out)
}

// List lists one page.
func (c *Client) List(ctx context.Context, r ListRequest) (contracts.IntegrationList, error) {
	var out contracts.IntegrationList
	return out, c.call(ctx, SubjectList, r, &out)
}

// Replace replaces an integration (PUT).
func (c *Client) Replace(ctx context.Context, r ReplaceRequest) (contracts.Integration, error) {
	var out contracts.Integration
	return out, c.call(ctx, SubjectReplace, r, &out)
}

// Patch merge-patches an integration.
func (c *Client) Patch(ctx context.Context, r PatchRequest) (contracts.Integration, error) {
	var out contracts.Integration
	return out, c.call(ctx, SubjectPatch, r, &out)
}

// Delete deletes an integration and returns its last stored version.
func (c *Client) Delete(ctx context.Context, r DeleteRequest) (contracts.Integration, error) {
	var out contracts.Integration
	return out, c.call(ctx, SubjectDelete, r, &out)
}

// Providers lists the loaded providers.
func (c *Client) Providers(ctx context.Context, r ProvidersRequest) (contracts.ProviderList, error) {
	var out contracts.ProviderList
	return out, c.call(ctx, SubjectProvider, r, &out)
}

// service names the manager in transport errors.
const service = "catalog service"

// call is one request-reply to the service.
func (c *Client) call(ctx context.Context, subject string, req, out any) error {
	return bus.Request(ctx, c.nc, service, subject, c.timeout, req, out)
}
