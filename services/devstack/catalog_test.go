package devstack_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestOneCatalogViewPerProcess: the six services of make run that read the
// catalog share one view, so the integrations bucket has one watch (one
// consumer) rather than six, and each service still follows the catalog:
// the health-scheduler schedules a created integration and drops a deleted
// one, the ingress's read model serves the create, the update and the
// delete at once.
func TestOneCatalogViewPerProcess(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	consumers := func() int {
		t.Helper()
		st, err := s.js.Stream(context.Background(), bus.KVStream(catalog.BucketIntegrations))
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	if n := consumers(); n != 1 {
		t.Fatalf("%d consumers on the integrations bucket, want 1 (one shared watch)", n)
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
	eventually("the health-scheduler drops the deleted integration", func() bool {
		m := jobs.FindStringSubmatch(s.scrape())
		return m != nil && m[1] == "0"
	})
	if n := consumers(); n != 1 {
		t.Fatalf("%d consumers on the integrations bucket, want 1", n)
	}
}
