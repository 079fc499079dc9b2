package ingress

import (
	"net/http"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// notificationRules serves /api/v1/notification-rules: the caller's
// tenant's routing rules, kept and validated by the notifier, reached over
// its request-reply endpoints. Nothing is checked here that the notifier
// checks again: it is the one judge of a rule.
type notificationRules struct {
	s      *server
	client *notifyrules.Client
}

func newNotificationRules(s *server) *notificationRules {
	return &notificationRules{s: s, client: notifyrules.NewClient(s.nc, s.cfg.CallTimeout)}
}

// collection is GET (list) and POST (create).
func (n *notificationRules) collection() methods {
	return methods{http.MethodGet: n.list, http.MethodPost: n.create}
}

// item is GET, PUT and DELETE of one rule.
func (n *notificationRules) item() methods {
	return methods{http.MethodGet: n.get, http.MethodPut: n.replace, http.MethodDelete: n.delete}
}

func (n *notificationRules) list(w http.ResponseWriter, r *http.Request) {
	out, err := n.client.List(r.Context(), notifyrules.ListRequest{TenantID: principalOf(r.Context()).TenantID})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (n *notificationRules) create(w http.ResponseWriter, r *http.Request) {
	var in contracts.NotificationRuleInput
	if err := decodeBody(w, r, n.s.cfg.BodyLimit, &in); err != nil {
		writeError(w, err)
		return
	}
	rule, err := n.client.Create(r.Context(), notifyrules.CreateRequest{
		TenantID: principalOf(r.Context()).TenantID, Input: in, Actor: actorOf(principalOf(r.Context())),
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("ETag", etag(rule.Revision))
	w.Header().Set("Location", "/api/v1/notification-rules/"+rule.ID)
	writeJSON(w, http.StatusCreated, rule)
}

func (n *notificationRules) get(w http.ResponseWriter, r *http.Request) {
	rule, err := n.client.Get(r.Context(), notifyrules.GetRequest{TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id")})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("ETag", etag(rule.Revision))
	writeJSON(w, http.StatusOK, rule)
}

func (n *notificationRules) replace(w http.ResponseWriter, r *http.Request) {
	rev, err := ifMatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var in contracts.NotificationRuleInput
	if err := decodeBody(w, r, n.s.cfg.BodyLimit, &in); err != nil {
		writeError(w, err)
		return
	}
	rule, err := n.client.Replace(r.Context(), notifyrules.ReplaceRequest{
		TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id"), IfMatch: rev, Input: in,
		Actor: actorOf(principalOf(r.Context())),
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("ETag", etag(rule.Revision))
	writeJSON(w, http.StatusOK, rule)
}

func (n *notificationRules) delete(w http.ResponseWriter, r *http.Request) {
	rev, err := ifMatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := n.client.Delete(r.Context(), notifyrules.DeleteRequest{
		TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id"), IfMatch: rev,
		Actor: actorOf(principalOf(r.Context())),
	}); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// preview is POST /api/v1/notification-rules/preview: the notifier renders
// the templates on its sample events of the caller's tenant, as it checks
// a rule's when saving one; nothing is stored.
func (n *notificationRules) preview(w http.ResponseWriter, r *http.Request) {
	var in contracts.NotificationPreviewInput
	if err := decodeBody(w, r, n.s.cfg.BodyLimit, &in); err != nil {
		writeError(w, err)
		return
	}
	out, err := n.client.Preview(r.Context(), notifyrules.PreviewRequest{TenantID: principalOf(r.Context()).TenantID, Input: in})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// deliveries is GET /api/v1/notification-rules/{id}/deliveries: what the
// notifier still remembers of the rule's deliveries, newest first.
func (n *notificationRules) deliveries(w http.ResponseWriter, r *http.Request) {
	q, err := queryParams(r, "limit")
	if err != nil {
		writeError(w, err)
		return
	}
	limit, err := limitValue(q.Get("limit"), 500)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := n.client.Deliveries(r.Context(), notifyrules.DeliveriesRequest{TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id"), Limit: limit})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
