package bus

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
	"github.com/stella-ops/inthub/shared/contracts"
)

// Request calls a nats-micro endpoint of a hub service: it sends req as JSON
// with the caller's trace context, bounds the wait by timeout when ctx has
// no deadline, and decodes the reply into out (nil: ignore it). A micro error
// reply becomes the *apierr.Error it carries; transport failures are 503/504
// errors naming service.
func Request(ctx context.Context, nc *nats.Conn, service, subject string, timeout time.Duration, req, out any) error {
	_, err := RequestHeader(ctx, nc, service, subject, timeout, req, out)
	return err
}

// RequestHeader is Request that also returns the headers of a successful
// reply (those an endpoint set with Replied).
func RequestHeader(ctx context.Context, nc *nats.Conn, service, subject string, timeout time.Duration, req, out any) (nats.Header, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", subject, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	h := map[string]string{}
	InjectTrace(ctx, h)
	for k, v := range h {
		msg.Header.Set(k, v)
	}
	reply, err := nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the %s is not running", service)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, apierr.New(http.StatusGatewayTimeout, apierr.Timeout, "the %s did not answer in time", service)
	case err != nil:
		return nil, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the %s cannot be reached", service)
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
		return nil, apierr.FromBody(status, eb)
	}
	if out == nil {
		return reply.Header, nil
	}
	if err := json.Unmarshal(reply.Data, out); err != nil {
		return nil, fmt.Errorf("decode %s reply: %w", subject, err)
	}
	return reply.Header, nil
}
