package ingress

import (
	"net/http"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/audit"
	"github.com/stella-ops/inthub/shared/contracts"
)

// actorOf is who a principal is in an audit record: the static token's
// name, or the OIDC token's subject and issuer. The manager and the
// notifier store it with the change it asked for.
func actorOf(p Principal) *contracts.Actor {
	if p.Issuer != "" {
		name := p.Subject
		if name == "" {
			name = p.Name
		}
		return &contracts.Actor{Kind: contracts.ActorOIDC, Name: name, Issuer: p.Issuer}
	}
	return &contracts.Actor{Kind: contracts.ActorToken, Name: p.Name}
}

// auditLog answers GET /api/v1/audit: one page of audit records, oldest
// first. A tenant's caller reads its own tenant's records only (tenantId
// is refused rather than ignored, so nobody takes a silent narrowing for
// access); an operator reads every tenant's, or one tenant's with tenantId.
// The ingress reads INTHUB_AUDIT itself: the records are written once by
// the owners' outboxes, and reading them needs no owner to answer.
func (s *server) auditLog(w http.ResponseWriter, r *http.Request) {
	q, err := queryParams(r, "resourceType", "resourceId", "actor", "tenantId", "since", "limit", "cursor")
	if err != nil {
		writeError(w, err)
		return
	}
	p := principalOf(r.Context())
	query := audit.Query{
		TenantID: p.TenantID, ResourceType: q.Get("resourceType"), ResourceID: q.Get("resourceId"),
		Actor: q.Get("actor"), Cursor: q.Get("cursor"),
	}
	if p.HasRole(RoleOperator) {
		query.TenantID = q.Get("tenantId")
	} else if q.Has("tenantId") && q.Get("tenantId") != p.TenantID {
		writeError(w, apierr.New(http.StatusForbidden, apierr.Forbidden, "only operators read other tenants' audit records").With("parameter", "tenantId"))
		return
	}
	if query.Since, err = s.operations().ParseTime("since", q.Get("since")); err != nil {
		writeError(w, apierr.BadRequest(apierr.InvalidQuery, "%s", err.Error()).With("parameter", "since"))
		return
	}
	if query.Limit, err = limitValue(q.Get("limit"), audit.MaxLimit); err != nil {
		writeError(w, err)
		return
	}
	page, err := audit.Read(r.Context(), s.bus.JetStream(), query)
	if err != nil {
		if apierr.From(err).Status >= http.StatusInternalServerError {
			s.logger.WarnContext(r.Context(), "audit query failed", "error", err.Error())
		}
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
