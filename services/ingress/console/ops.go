package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/bus/ops"
	"github.com/stella-ops/inthub/shared/contracts"
)

// eventsPage shows new events as they are stored (Server-Sent Events from
// eventStream, read by static/app.js).
func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	c.render(w, r, s, http.StatusOK, "events", "Live events", "events", map[string]any{"Subject": q.Get("subject"), "TenantID": q.Get("tenantId")})
}

// eventStream is the API's event stream, served in-process to the
// browser's EventSource (which can send the cookie but no bearer header).
func (c *Console) eventStream(w http.ResponseWriter, r *http.Request, s *session) {
	q := url.Values{}
	for _, k := range []string{"subject", "tenantId"} {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	req := r.Clone(r.Context())
	req.URL = &url.URL{Path: "/api/v1/operator/events/stream", RawQuery: q.Encode()}
	req.RequestURI = ""
	req.Header = http.Header{"Authorization": {"Bearer " + s.token}}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		req.Header.Set("Last-Event-ID", id)
	}
	c.cfg.API.ServeHTTP(w, req)
}

// replay republishes stored events to inthub.replay.<name> through the
// API's replay, and shows the count on the events page.
func (c *Console) replay(w http.ResponseWriter, r *http.Request, s *session) {
	body := map[string]any{"subject": strings.TrimSpace(r.PostFormValue("subject")), "tenantId": strings.TrimSpace(r.PostFormValue("tenantId")),
		"since": strings.TrimSpace(r.PostFormValue("since")), "target": strings.TrimSpace(r.PostFormValue("target"))}
	data := map[string]any{"Subject": body["subject"], "TenantID": body["tenantId"], "Since": body["since"], "Target": body["target"]}
	var res ops.ReplayResult
	status := http.StatusOK
	if _, err := s.api.do(http.MethodPost, "/api/v1/operator/events/replay", nil, body, &res); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= 500 {
			c.fail(w, r, s, err)
			return
		}
		status, data["ReplayError"] = ae.Status, ae.Body.Message
	} else {
		msg := strconv.Itoa(res.Count) + " events replayed to " + body["target"].(string)
		if res.Duplicates > 0 {
			msg += " (" + strconv.Itoa(res.Duplicates) + " were there already)"
		}
		if res.NextSeq != 0 {
			msg += "; more remain from sequence " + strconv.FormatUint(res.NextSeq, 10)
		}
		data["Replayed"] = msg + "."
	}
	c.render(w, r, s, status, "events", "Live events", "events", data)
}

func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request, s *session) {
	in := r.URL.Query()
	q := url.Values{"limit": {"100"}}
	for _, k := range []string{"subject", "tenantId", "after"} {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	data := map[string]any{"Subject": in.Get("subject"), "TenantID": in.Get("tenantId"), "Flash": in.Get("done")}
	var pg ops.DLQPage
	if _, err := s.api.do(http.MethodGet, "/api/v1/operator/dlq", q, nil, &pg); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= 500 {
			c.fail(w, r, s, err)
			return
		}
		data["Error"] = ae.Body.Message
	}
	data["Page"] = pg
	if pg.NextAfter != 0 {
		q.Set("after", strconv.FormatUint(pg.NextAfter, 10))
		q.Del("limit")
		data["Next"] = Prefix + "/ops/dlq?" + q.Encode()
	}
	c.render(w, r, s, http.StatusOK, "dlq", "Dead letters", "dlq", data)
}

func (c *Console) deadLetter(w http.ResponseWriter, r *http.Request, s *session) {
	var d ops.DeadLetterDetail
	if _, err := s.api.do(http.MethodGet, "/api/v1/operator/dlq/"+url.PathEscape(r.PathValue("seq")), nil, nil, &d); err != nil {
		c.fail(w, r, s, err)
		return
	}
	body := string(d.Data)
	if body == "" {
		body = d.DataText
	}
	if body == "" && d.DataBase64 != "" {
		body = "(binary, " + strconv.Itoa(len(d.DataBase64)*3/4) + " bytes)"
	}
	c.render(w, r, s, http.StatusOK, "deadletter", "Dead letter "+r.PathValue("seq"), "dlq", map[string]any{"D": d, "Body": body})
}

func (c *Console) redrive(w http.ResponseWriter, r *http.Request, s *session) {
	var res ops.Redriven
	if _, err := s.api.do(http.MethodPost, "/api/v1/operator/dlq/"+url.PathEscape(r.PathValue("seq"))+"/redrive", nil, nil, &res); err != nil {
		c.fail(w, r, s, err)
		return
	}
	msg := "Dead letter " + strconv.FormatUint(res.Sequence, 10) + " redriven to " + res.Subject + "."
	http.Redirect(w, r, Prefix+"/ops/dlq?"+url.Values{"done": {msg}}.Encode(), http.StatusSeeOther)
}

func (c *Console) deleteDeadLetter(w http.ResponseWriter, r *http.Request, s *session) {
	if r.PostFormValue("confirm") != "yes" {
		c.status(w, r, s, http.StatusBadRequest, "Not confirmed", "Tick the confirmation box to delete a dead letter.")
		return
	}
	seq := r.PathValue("seq")
	if _, err := s.api.do(http.MethodDelete, "/api/v1/operator/dlq/"+url.PathEscape(seq), nil, nil, nil); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"/ops/dlq?"+url.Values{"done": {"Dead letter " + seq + " deleted."}}.Encode(), http.StatusSeeOther)
}

// purgeConfirm shows how many dead letters a purge would remove (the
// API's dry run) and asks for confirmation.
func (c *Console) purgeConfirm(w http.ResponseWriter, r *http.Request, s *session) {
	pq := ops.PurgeQuery{Subject: strings.TrimSpace(r.URL.Query().Get("subject")), TenantID: strings.TrimSpace(r.URL.Query().Get("tenantId")), DryRun: true}
	pq.All = pq.Subject == "" && pq.TenantID == ""
	var res ops.PurgeResult
	data := map[string]any{"Q": pq}
	if _, err := s.api.do(http.MethodPost, "/api/v1/operator/dlq/purge", nil, pq, &res); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= 500 {
			c.fail(w, r, s, err)
			return
		}
		data["Error"] = ae.Body.Message
	}
	data["Matching"] = res.Matching
	c.render(w, r, s, http.StatusOK, "purge", "Purge dead letters", "dlq", data)
}

func (c *Console) purge(w http.ResponseWriter, r *http.Request, s *session) {
	if r.PostFormValue("confirm") != "yes" {
		c.status(w, r, s, http.StatusBadRequest, "Not confirmed", "Tick the confirmation box to purge dead letters.")
		return
	}
	pq := ops.PurgeQuery{Subject: strings.TrimSpace(r.PostFormValue("subject")), TenantID: strings.TrimSpace(r.PostFormValue("tenantId"))}
	pq.All = pq.Subject == "" && pq.TenantID == ""
	var res ops.PurgeResult
	if _, err := s.api.do(http.MethodPost, "/api/v1/operator/dlq/purge", nil, pq, &res); err != nil {
		c.fail(w, r, s, err)
		return
	}
	msg := strconv.FormatUint(res.Purged, 10) + " dead letters purged."
	http.Redirect(w, r, Prefix+"/ops/dlq?"+url.Values{"done": {msg}}.Encode(), http.StatusSeeOther)
}

// rules lists the tenant's notification rules with a form to add one.
func (c *Console) rules(w http.ResponseWriter, r *http.Request, s *session) {
	c.rulesPage(w, r, s, http.StatusOK, ruleForm{EventType: contracts.SubjectHealthChanged})
}

type ruleForm struct {
	Name, EventType, Severities, LabelSelector, Target, Channel, Title, Text string
	Error, Field                                                             string
	// Previewed is set on the answer of Preview: Preview holds the samples
	// as rendered, or PreviewError the refusal.
	Previewed    bool
	Preview      []contracts.NotificationPreviewSample
	PreviewError string
}

func (c *Console) rulesPage(w http.ResponseWriter, r *http.Request, s *session, status int, f ruleForm) {
	var list contracts.NotificationRuleList
	if _, err := s.api.do(http.MethodGet, "/api/v1/notification-rules", nil, nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var its contracts.IntegrationList
	if _, err := s.api.do(http.MethodGet, "/api/v1/integrations", url.Values{"category": {"notification"}, "limit": {"500"}}, nil, &its); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, status, "rules", "Notification rules", "rules", map[string]any{"Rules": list.Items, "Targets": its.Items, "Form": f})
}

// readRuleForm is the posted rule form, as typed.
func readRuleForm(r *http.Request) ruleForm {
	return ruleForm{Name: r.PostFormValue("name"), EventType: r.PostFormValue("eventType"), Severities: r.PostFormValue("severities"),
		LabelSelector: r.PostFormValue("labelSelector"), Target: r.PostFormValue("target"), Channel: r.PostFormValue("channel"),
		Title: r.PostFormValue("title"), Text: r.PostFormValue("text")}
}

// previewRule renders the form's templates through the API's preview (the
// notifier's sample events of the chosen event type) and shows the form
// again, as typed, with the rendered samples or the refusal next to it.
// Nothing is saved.
func (c *Console) previewRule(w http.ResponseWriter, r *http.Request, s *session) {
	f := readRuleForm(r)
	in := contracts.NotificationPreviewInput{EventTypes: []string{f.EventType}, Template: contracts.NotificationTemplate{Title: f.Title, Text: f.Text}}
	var out contracts.NotificationPreview
	if _, err := s.api.do(http.MethodPost, "/api/v1/notification-rules/preview", nil, in, &out); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= 500 {
			c.fail(w, r, s, err)
			return
		}
		f.PreviewError, f.Field = ae.Body.Message, ae.Field()
	} else {
		f.Preview = out.Samples
	}
	f.Previewed = true
	c.rulesPage(w, r, s, http.StatusOK, f)
}

func (c *Console) createRule(w http.ResponseWriter, r *http.Request, s *session) {
	f := readRuleForm(r)
	in := contracts.NotificationRuleInput{Name: f.Name, Match: contracts.NotificationMatch{EventTypes: []string{f.EventType}, LabelSelector: strings.TrimSpace(f.LabelSelector)},
		Targets: []contracts.NotificationTarget{{IntegrationID: f.Target, Channel: strings.TrimSpace(f.Channel)}}}
	for _, sev := range strings.Split(f.Severities, ",") {
		if sev = strings.TrimSpace(sev); sev != "" {
			in.Match.Severities = append(in.Match.Severities, sev)
		}
	}
	if f.Title != "" || f.Text != "" {
		in.Template = &contracts.NotificationTemplate{Title: f.Title, Text: f.Text}
	}
	if _, err := s.api.do(http.MethodPost, "/api/v1/notification-rules", nil, in, nil); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status < 500 {
			f.Error, f.Field = ae.Body.Message, ae.Field()
			c.rulesPage(w, r, s, ae.Status, f)
			return
		}
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"/rules", http.StatusSeeOther)
}

// ruleDeliveries lists what the notifier remembers of a rule's deliveries.
func (c *Console) ruleDeliveries(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var rule contracts.NotificationRule
	if _, err := s.api.do(http.MethodGet, "/api/v1/notification-rules/"+url.PathEscape(id), nil, nil, &rule); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var list contracts.NotificationDeliveryList
	if _, err := s.api.do(http.MethodGet, "/api/v1/notification-rules/"+url.PathEscape(id)+"/deliveries", url.Values{"limit": {"200"}}, nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "deliveries", "Deliveries: "+rule.Name, "rules", map[string]any{"Rule": rule, "List": list})
}
