package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus/internal/puback"
)

// publishMsg is jetstream.JetStream.PublishMsg without options — the same
// request, the same retries of a stream not responding, the same errors —
// with the answer read by readPubAck instead of encoding/json.
func publishMsg(ctx context.Context, nc *nats.Conn, m *nats.Msg) (*jetstream.PubAck, error) {
	resp, err := nc.RequestMsgWithContext(ctx, m)
	// A stream leader changing answers nobody for a moment: ask again.
	for r := 0; errors.Is(err, nats.ErrNoResponders) && r < jetstream.DefaultPubRetryAttempts; r++ {
		select {
		case <-ctx.Done():
		case <-time.After(jetstream.DefaultPubRetryWait):
		}
		resp, err = nc.RequestMsgWithContext(ctx, m)
	}
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, jetstream.ErrNoStreamResponse
	case err != nil:
		return nil, err
	}
	return readPubAck(resp.Data)
}

// readPubAck reads a publish's answer as the JetStream client does: the
// ack, the server's refusal as a *jetstream.APIError, or ErrInvalidJSAck.
// The server's usual shape is read by puback; anything else (a refusal
// among them) by encoding/json.
func readPubAck(data []byte) (*jetstream.PubAck, error) {
	if a, ok := puback.Parse(data); ok {
		if a.Stream == "" {
			return nil, jetstream.ErrInvalidJSAck
		}
		return &jetstream.PubAck{Stream: a.Stream, Sequence: a.Sequence, Duplicate: a.Duplicate, Domain: a.Domain, Value: a.Value}, nil
	}
	var resp struct {
		Error *jetstream.APIError `json:"error"`
		*jetstream.PubAck
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, jetstream.ErrInvalidJSAck
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("nats: %w", resp.Error)
	}
	if resp.PubAck == nil || resp.Stream == "" {
		return nil, jetstream.ErrInvalidJSAck
	}
	return resp.PubAck, nil
}
