package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// test runs an on-demand test: it publishes integration.test.requested and
// waits for the matching integration.test.completed, which it answers in the
// spec's shape. The ingress keeps no state: the wait is a plain subscription
// on the completion subject, opened before the command is published.
func (s *server) test(w http.ResponseWriter, r *http.Request) {
	tenant, id := principalOf(r.Context()).TenantID, r.PathValue("id")
	if _, err := s.catalog.Get(r.Context(), catalog.GetRequest{TenantID: tenant, ID: id}); err != nil {
		writeError(w, err) // another tenant's integration is 404 here too
		return
	}
	sub, err := s.nc.SubscribeSync(contracts.Subject(contracts.SubjectTestCompleted, tenant, id))
	if err != nil {
		writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the bus cannot be reached"))
		return
	}
	defer func() { _ = sub.Unsubscribe() }()
	reqID := uuid.NewString()
	if _, err := s.testOut.Publish(r.Context(), bus.Event{
		ID: "test-request:" + reqID, Subject: contracts.Subject(contracts.SubjectTestRequested, tenant, id),
		TenantID: tenant, DataSubject: id, Data: contracts.TestRequested{RequestID: reqID, TenantID: tenant, IntegrationID: id},
	}); err != nil {
		writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the test could not be queued"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.TestTimeout)
	defer cancel()
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
			writeError(w, apierr.New(http.StatusGatewayTimeout, apierr.Timeout,
				"no test result arrived within %s; the test is still queued and its result will be published as integration.test.completed", s.cfg.TestTimeout).
				With("requestId", reqID))
			return
		}
		if err != nil {
			writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "lost the bus while waiting for the test result"))
			return
		}
		var done contracts.TestCompleted
		if json.Unmarshal(msg.Data, &done) != nil || done.RequestID != reqID {
			continue // another caller's test of the same integration
		}
		writeJSON(w, http.StatusOK, contracts.TestResponse{Success: done.Success, Data: done.Data})
		return
	}
}

func (c Config) testTimeout() time.Duration {
	if c.TestTimeout <= 0 {
		return 30 * time.Second
	}
	return c.TestTimeout
}
