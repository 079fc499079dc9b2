package ingress

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// queryTimeout bounds the wait for a metrics query's answer: above the
// analyzer's own bound on a query (20s), below the server's write timeout.
const queryTimeout = 30 * time.Second

// queryEndpoint serves POST /api/v1/integrations/{id}/query: it checks the
// query as every provider would, publishes metrics.query.requested and
// answers with the matching metrics.query.completed.
type queryEndpoint struct {
	s       *server
	waiters *completionWaiters
}

func newQueryEndpoint(s *server) methods {
	q := &queryEndpoint{s: s, waiters: newCompletionWaiters(s.nc, completionLinger)}
	return methods{http.MethodPost: q.serve}
}

func (q *queryEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	tenant, id := principalOf(r.Context()).TenantID, r.PathValue("id")
	var query contracts.MetricsQuery
	if err := decodeBody(w, r, q.s.cfg.BodyLimit, &query); err != nil {
		writeError(w, err)
		return
	}
	if err := connectors.CheckMetricsQuery(query); err != nil {
		writeError(w, apierr.BadRequest(apierr.InvalidMetricsQuery, "%s", resilience.MessageOf(err)))
		return
	}
	if _, err := q.s.catalog.Get(r.Context(), catalog.GetRequest{TenantID: tenant, ID: id}); err != nil {
		writeError(w, err) // another tenant's integration is 404 here too
		return
	}
	reqID := uuid.NewString()
	// Subscribe before publishing: on one connection, NATS keeps the order.
	answer, release, err := q.waiters.wait(contracts.Subject(contracts.SubjectMetricsQueryDone, tenant, id), reqID)
	if err != nil {
		writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the bus cannot be reached"))
		return
	}
	defer release()
	if _, err := q.s.queryOut.Publish(r.Context(), bus.Event{
		ID: "metrics-query-request:" + reqID, Subject: contracts.Subject(contracts.SubjectMetricsQueryRequest, tenant, id),
		TenantID: tenant, DataSubject: id,
		Data: contracts.MetricsQueryRequested{RequestID: reqID, TenantID: tenant, IntegrationID: id, Query: query},
	}); err != nil {
		writeError(w, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the query could not be queued"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	select {
	case data := <-answer:
		respondQuery(w, data)
	case <-ctx.Done():
		if r.Context().Err() != nil {
			return // the caller left
		}
		writeError(w, apierr.New(http.StatusGatewayTimeout, apierr.Timeout,
			"no answer arrived within %s; it will still be published as metrics.query.completed", queryTimeout).With("requestId", reqID))
	}
}

// respondQuery maps metrics.query.completed to the HTTP answer: the
// series as the analyzer encoded them, or the error with its status.
func respondQuery(w http.ResponseWriter, data []byte) {
	c, ok := splitCompletion(data)
	if !ok || (c.Error == nil && c.Result == nil) {
		writeError(w, apierr.New(http.StatusInternalServerError, apierr.Internal, "the query answer could not be read"))
		return
	}
	c.write(w, queryError)
}

// queryError gives the analyzer's error code its HTTP status: a bad query
// or an integration that answers no queries is 400, a missing one 404, the
// provider's rate limit 429, its silence 504, any other failure of the
// provider 502.
func queryError(b contracts.ErrorBody) *apierr.Error {
	status := http.StatusBadGateway
	switch resilience.Code(b.Code) {
	case apierr.InvalidMetricsQuery, resilience.NotSupported, resilience.InvalidConfig:
		status = http.StatusBadRequest
	case resilience.IntegrationNotFound:
		status = http.StatusNotFound
	case resilience.RateLimited:
		status = http.StatusTooManyRequests
	case resilience.Timeout:
		status = http.StatusGatewayTimeout
	}
	return apierr.FromBody(status, b)
}
