package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/stella-ops/inthub/shared/apierr"
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

// Create creates an integration.
func (c *Client) Create(ctx context.Context, r CreateRequest) (contracts.Integration, error) {
	var out contracts.Integration
	return out, c.call(ctx, SubjectCreate, r, &out)
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

// call sends req with the caller's trace context and decodes the reply; a
// micro error reply becomes the *apierr.Error it carries.
func (c *Client) call(ctx context.Context, subject string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s: %w", subject, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	h := map[string]string{}
	bus.InjectTrace(ctx, h)
	for k, v := range h {
		msg.Header.Set(k, v)
	}
	reply, err := c.nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the catalog service is not running")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return apierr.New(http.StatusGatewayTimeout, apierr.Timeout, "the catalog service did not answer in time")
	case err != nil:
		return apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the catalog service cannot be reached")
	}
	if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
		status, _ := strconv.Atoi(code)
		var eb contracts.ErrorBody
		if json.Unmarshal(reply.Data, &eb) != nil || eb.Code == "" {
			eb = contracts.ErrorBody{Code: apierr.Internal, Message: reply.Header.Get(micro.ErrorHeader)}
		}
		if status < 400 || status > 599 {
			status = http.StatusInternalServerError
		}
		return apierr.FromBody(status, eb)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(reply.Data, out); err != nil {
		return fmt.Errorf("decode %s reply: %w", subject, err)
	}
	return nil
}
