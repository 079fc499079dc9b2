package devstack_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/shared/contracts"
)

// auditPage reads one page of GET /api/v1/audit?query as token.
func (s *stack) auditPage(token, query string) (contracts.AuditPage, response) {
	s.t.Helper()
	r := s.call("GET", "/api/v1/audit?"+query, token, nil)
	var p contracts.AuditPage
	if r.status == 200 {
		r.decode(&p)
	}
	return p, r
}

// auditOf waits (bounded) until the query answers n records and returns
// them with the raw answer: the outbox writes a record right after the
// store, before the write call answers, so this rarely waits.
func (s *stack) auditOf(token, query string, n int) ([]contracts.AuditRecord, string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, r := s.auditPage(token, query)
		if r.status != 200 {
			s.t.Fatalf("audit %s: %d %s", query, r.status, r.body)
		}
		if len(p.Items) >= n || time.Now().After(deadline) {
			if len(p.Items) != n {
				s.t.Fatalf("audit %s: %d records, want %d: %s", query, len(p.Items), n, r.body)
			}
			return p.Items, string(r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func change(rec contracts.AuditRecord, field string) (contracts.FieldChange, bool) {
	i := slices.IndexFunc(rec.Changes, func(c contracts.FieldChange) bool { return c.Field == field })
	if i < 0 {
		return contracts.FieldChange{}, false
	}
	return rec.Changes[i], true
}

// TestAuditRecordsWhoChangedWhatOverHTTP: a create, an update and a
// delete through the API each leave one audit record naming the token
// that made it and the fields it changed, with old and new values of the
// plain fields and none of the secret ones; the lifecycle events carry
// the same actor and changes.
func TestAuditRecordsWhoChangedWhatOverHTTP(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	r := s.call("POST", "/api/v1/integrations", s.info.Token, webhook("audited hooks"))
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var it contracts.Integration
	r.decode(&it)
	r = s.call("PATCH", "/api/v1/integrations/"+it.ID, s.info.Token, map[string]any{
		"description":   "hooks of the release train",
		"labels":        map[string]any{"team": "platform", "environment": nil},
		"config":        map[string]any{"signingSecretRef": "env://INTHUB_SECRET_DEV_OTHER_HOOK", "url": "https://hooks.example.com/v2"},
		"credentialRef": "env://INTHUB_SECRET_DEV_OTHER_TOKEN",
	}, "If-Match", r.header.Get("ETag"), "Content-Type", "application/merge-patch+json")
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	r = s.call("DELETE", "/api/v1/integrations/"+it.ID, s.info.Token, nil, "If-Match", r.header.Get("ETag"))
	if r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}

	recs, raw := s.auditOf(s.info.Token, "resourceType=integration&resourceId="+it.ID, 3)
	// No reference to a secret, old or new, and no secret value.
	for _, leak := range []string{"INTHUB_SECRET_DEV", "env://"} {
		if strings.Contains(raw, leak) {
			t.Fatalf("the audit records hold %q: %s", leak, raw)
		}
	}
	for i, want := range []string{contracts.AuditCreated, contracts.AuditUpdated, contracts.AuditDeleted} {
		rec := recs[i]
		if rec.Action != want || rec.ResourceType != contracts.AuditIntegration || rec.ResourceID != it.ID ||
			rec.TenantID != devstack.DevTenantID || rec.OccurredAt.IsZero() || rec.Revision == 0 {
			t.Errorf("record %d: %+v, want %s of %s", i, rec, want, it.ID)
		}
		if rec.Actor == nil || *rec.Actor != (contracts.Actor{Kind: contracts.ActorToken, Name: "dev"}) {
			t.Errorf("record %d (%s): actor %+v, want the dev token", i, want, rec.Actor)
		}
	}
	created, updated, deleted := recs[0], recs[1], recs[2]
	if c, ok := change(created, "name"); !ok || c.New != "audited hooks" || c.Old != nil {
		t.Errorf("create: name change %+v", c)
	}
	if c, ok := change(created, "config.signingSecretRef"); !ok || c.ValuesOmitted != contracts.OmittedSecret || c.New != nil {
		t.Errorf("create: secret field %+v (%v)", c, ok)
	}
	wantUpdate := map[string]contracts.FieldChange{
		"description":             {Field: "description", New: "hooks of the release train"},
		"labels.team":             {Field: "labels.team", New: "platform"},
		"labels.environment":      {Field: "labels.environment", Old: "production"},
		"config.url":              {Field: "config.url", Old: "https://hooks.example.com/inthub", New: "https://hooks.example.com/v2"},
		"config.signingSecretRef": {Field: "config.signingSecretRef", ValuesOmitted: contracts.OmittedSecret},
		"credentialRef":           {Field: "credentialRef", ValuesOmitted: contracts.OmittedSecret},
	}
	if len(updated.Changes) != len(wantUpdate) {
		t.Errorf("update: changes %+v, want %d", updated.Changes, len(wantUpdate))
	}
	for field, want := range wantUpdate {
		if c, ok := change(updated, field); !ok || c != want {
			t.Errorf("update: %s changed %+v, want %+v", field, c, want)
		}
	}
	if deleted.ResourceName != "audited hooks" || len(deleted.Changes) != 0 {
		t.Errorf("delete: %+v", deleted)
	}

	// The lifecycle event of the update carries the same actor and changes.
	events, err := s.js.Stream(t.Context(), "INTHUB_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := events.GetLastMsgForSubject(t.Context(), contracts.Subject(contracts.SubjectUpdated, devstack.DevTenantID, it.ID))
	if err != nil {
		t.Fatal(err)
	}
	var ev contracts.LifecycleEvent
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Actor == nil || ev.Actor.Name != "dev" || len(ev.Changes) != len(wantUpdate) {
		t.Errorf("integration.updated: actor %+v, changes %+v", ev.Actor, ev.Changes)
	}
	if strings.Contains(string(mustJSON(t, ev.Changes)), "INTHUB_SECRET_DEV") {
		t.Errorf("integration.updated's changes hold a secret reference: %+v", ev.Changes)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAuditQueryIsolatesTenantsAndPages: a tenant reads its own records
// only and may not name another tenant; an operator reads any tenant's;
// actor filters; pages of limit records chain by cursor without gaps or
// repeats. Rule changes are recorded like integration changes.
func TestAuditQueryIsolatesTenantsAndPages(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	// Tenant A (the dev token, an operator of the dev tenant) and B.
	r := s.call("POST", "/api/v1/integrations", s.info.Token, webhook("A's hooks"))
	var a contracts.Integration
	r.decode(&a)
	hookB := webhook("B's hooks")
	delete(hookB, "credentialRef")
	hookB["config"] = map[string]any{"url": "https://hooks.example.com/b"}
	r = s.call("POST", "/api/v1/integrations", tokenB, hookB)
	if r.status != 201 {
		t.Fatalf("B's create: %d %s", r.status, r.body)
	}
	var b contracts.Integration
	r.decode(&b)
	etag := r.header.Get("ETag")
	for i := range 5 {
		r = s.call("PATCH", "/api/v1/integrations/"+b.ID, tokenB, map[string]any{"description": strings.Repeat("x", i+1)},
			"If-Match", etag, "Content-Type", "application/merge-patch+json")
		if r.status != 200 {
			t.Fatalf("B's patch %d: %d %s", i, r.status, r.body)
		}
		etag = r.header.Get("ETag")
	}
	// A rule of B's: create, replace, delete.
	rule := map[string]any{"name": "B's rule", "match": map[string]any{"eventTypes": []string{contracts.SubjectHealthChanged}},
		"targets": []map[string]any{{"integrationId": b.ID}}}
	r = s.call("POST", "/api/v1/notification-rules", tokenB, rule)
	if r.status != 201 {
		t.Fatalf("B's rule: %d %s", r.status, r.body)
	}
	var rl contracts.NotificationRule
	r.decode(&rl)
	rule["disabled"] = true
	r = s.call("PUT", "/api/v1/notification-rules/"+rl.ID, tokenB, rule, "If-Match", r.header.Get("ETag"))
	if r.status != 200 {
		t.Fatalf("B's rule replace: %d %s", r.status, r.body)
	}
	if r = s.call("DELETE", "/api/v1/notification-rules/"+rl.ID, tokenB, nil); r.status != 204 {
		t.Fatalf("B's rule delete: %d %s", r.status, r.body)
	}

	// B sees its 6 integration records and 3 rule records, nothing of A's.
	recsB, raw := s.auditOf(tokenB, "limit=500", 9)
	if strings.Contains(raw, a.ID) || strings.Contains(raw, devstack.DevTenantID) {
		t.Fatalf("B reads A's records: %s", raw)
	}
	ruleRecs, _ := s.auditOf(tokenB, "resourceType=notification-rule", 3)
	for i, want := range []string{contracts.AuditCreated, contracts.AuditUpdated, contracts.AuditDeleted} {
		rec := ruleRecs[i]
		if rec.Action != want || rec.ResourceID != rl.ID || rec.ResourceName != "B's rule" || rec.Actor == nil || rec.Actor.Name != "b" {
			t.Errorf("rule record %d: %+v, want %s by b", i, rec, want)
		}
	}
	if c, ok := change(ruleRecs[1], "disabled"); !ok || c.New != true {
		t.Errorf("rule replace: disabled change %+v (%v) in %+v", c, ok, ruleRecs[1].Changes)
	}
	// B may not name A's tenant; naming its own is allowed.
	if _, r := s.auditPage(tokenB, "tenantId="+devstack.DevTenantID); r.status != 403 {
		t.Errorf("B naming A's tenant: %d %s", r.status, r.body)
	}
	// The operator reads both tenants, or one.
	s.auditOf(s.info.Token, "limit=500", 10)
	onlyB, _ := s.auditOf(s.info.Token, "tenantId="+tenantB+"&resourceType=integration", 6)
	for _, rec := range onlyB {
		if rec.TenantID != tenantB {
			t.Fatalf("operator's query of B holds %+v", rec)
		}
	}
	if recs, _ := s.auditOf(s.info.Token, "actor=dev", 1); recs[0].ResourceID != a.ID {
		t.Errorf("actor=dev: %+v", recs)
	}
	// Bad parameters are refused, not ignored.
	for _, q := range []string{"resourceType=secrets", "resourceId=*", "tenantId=a.b", "limit=0", "limit=501", "cursor=nope", "colour=red"} {
		if _, r := s.auditPage(s.info.Token, q); r.status != 400 {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}

	// Paging: limit 2 over B's 9 records, by cursor.
	var paged []contracts.AuditRecord
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		q := "limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p, r := s.auditPage(tokenB, q)
		if r.status != 200 || len(p.Items) > 2 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.body)
		}
		paged = append(paged, p.Items...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(paged) != len(recsB) {
		t.Fatalf("paged %d records, the whole query %d", len(paged), len(recsB))
	}
	for i := range paged {
		if paged[i].ID != recsB[i].ID {
			t.Fatalf("page order differs at %d: %s vs %s", i, paged[i].ID, recsB[i].ID)
		}
	}
}
