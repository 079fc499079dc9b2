package devstack_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestOneCatalogViewPerProcess: the six services of make run that read the
// catalog share one view, so the integrations bucket has one watch (one
// consumer besides the manager's outbox) rather than six, and each service
// still follows the catalog: the health-scheduler schedules and checks a
// created integration and removes a deleted one's health record, the
// ingress's read model serves the create, the update and the delete.
func TestOneCatalogViewPerProcess(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	// The watches of the bucket: its consumers but the manager's outbox
	// (a durable one, which turns changes into lifecycle events).
	watches := func() int {
		t.Helper()
		st, err := s.js.Stream(context.Background(), bus.KVStream(catalog.BucketIntegrations))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for info := range st.ListConsumers(context.Background()).Info() {
			if info.Name != manager.OutboxConsumer {
				n++
			}
		}
		return n
	}
	if n := watches(); n != 1 {
		t.Fatalf("%d watches of the integrations bucket, want 1 (one shared view)", n)
	}
	jobs := regexp.MustCompile(`(?m)^inthub_health_schedule_jobs\{service="health-scheduler"\} (\d+)$`)
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	r := s.call("POST", "/api/v1/integrations", tok, map[string]any{"typeId": "inmemory", "name": "shared", "config": map[string]any{}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var it contracts.Integration
	r.decode(&it)
	eventually("the health-scheduler schedules and checks the created integration", func() bool {
		m := jobs.FindStringSubmatch(s.scrape())
		var got contracts.Integration
		s.call("GET", "/api/v1/integrations/"+it.ID, tok, nil).decode(&got)
		return m != nil && m[1] != "0" && got.HealthStatus != contracts.HealthUnknown
	})

	r = s.call("PATCH", "/api/v1/integrations/"+it.ID, tok, `{"name":"shared v2"}`, "Content-Type", "application/merge-patch+json")
	if r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	var got contracts.Integration
	if r = s.call("GET", "/api/v1/integrations/"+it.ID, tok, nil); r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if r.decode(&got); got.Name != "shared v2" {
		t.Fatalf("get after the update: %+v", got)
	}

	if r = s.call("DELETE", "/api/v1/integrations/"+it.ID, tok, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r = s.call("GET", "/api/v1/integrations/"+it.ID, tok, nil); r.status != http.StatusNotFound {
		t.Fatalf("get after delete: %d %s", r.status, r.body)
	}
	health, err := s.js.KeyValue(context.Background(), catalog.BucketHealth)
	if err != nil {
		t.Fatal(err)
	}
	eventually("the health-scheduler removes the deleted integration's health record", func() bool {
		_, err := health.Get(context.Background(), it.TenantID+"."+it.ID)
		return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
	})
	if n := watches(); n != 1 {
		t.Fatalf("%d watches of the integrations bucket, want 1", n)
	}
}
