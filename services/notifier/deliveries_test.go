package notifier

import (
	"context"
	"net/http"
	"testing"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// A rule's delivery history lists what the deliveries bucket remembers of
// that rule, one row per event and target, newest first, and only for the
// rule's own tenant.
func TestRuleDeliveriesListTheRulesDeliveries(t *testing.T) {
	t.Parallel()
	s := newIncidentSetup(t)
	h := s.h
	ctx := context.Background()
	list := func(tenant, id string, limit int) (contracts.NotificationDeliveryList, error) {
		return h.rules.Deliveries(ctx, notifyrules.DeliveriesRequest{TenantID: tenant, ID: id, Limit: limit})
	}
	if got, err := list(tenantA, s.rule.ID, 0); err != nil || len(got.Items) != 0 {
		t.Fatalf("before any event: %+v %v", got, err)
	}
	seq := h.publishHealth(s.registry.ID+":changed:5", "", outage(s.registry, contracts.HealthHealthy, contracts.HealthUnhealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)
	seq = h.publishHealth(s.registry.ID+":changed:6", "", outage(s.registry, contracts.HealthUnhealthy, contracts.HealthHealthy))
	h.waitConsumed(bus.StreamEvents, durableHealth, seq)

	got, err := list(tenantA, s.rule.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	targets := len(s.rule.Targets)
	if len(got.Items) != 2*targets {
		t.Fatalf("%d deliveries, want %d (2 events x %d targets): %+v", len(got.Items), 2*targets, targets, got.Items)
	}
	events := map[string]int{}
	for i, d := range got.Items {
		events[d.EventID]++
		if d.Status != "sent" || d.IntegrationID == "" || d.At.IsZero() {
			t.Errorf("delivery %d: %+v", i, d)
		}
		if i > 0 && d.At.After(got.Items[i-1].At) {
			t.Errorf("not newest first at %d", i)
		}
	}
	if events[s.registry.ID+":changed:5"] != targets || events[s.registry.ID+":changed:6"] != targets {
		t.Errorf("events %v", events)
	}
	if got, err := list(tenantA, s.rule.ID, 1); err != nil || len(got.Items) != 1 {
		t.Errorf("limit 1: %+v %v", got, err)
	}
	// Another tenant, a limit out of range: refused.
	if _, err := list(tenantB, s.rule.ID, 0); apiError(t, err).Code != notifyrules.RuleNotFound {
		t.Errorf("tenant B: %v", err)
	}
	if _, err := list(tenantA, s.rule.ID, 501); apiError(t, err).Status != http.StatusBadRequest {
		t.Errorf("limit 501: %v", err)
	}
}
