package manager_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestReadsJoinTheHealthChecks: get and list carry the health-scheduler's
// latest result per check level and the breaker state from KV health (so a
// tenant sees why without /test), while the catalog's own record and the
// lifecycle events never hold them.
func TestReadsJoinTheHealthChecks(t *testing.T) {
	t.Parallel()
	cl, js := startManager(t)
	ctx := context.Background()
	created, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("checked hooks")})
	if err != nil {
		t.Fatal(err)
	}
	if created.HealthChecks != nil || created.CircuitBreaker != "" {
		t.Fatalf("a new integration has health results: %+v", created)
	}
	// The record the health-scheduler writes after a failed authentication.
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	rec := contracts.IntegrationHealth{
		TenantID: tenantA, IntegrationID: created.ID, Status: contracts.HealthUnhealthy, LastCheck: &at, Breaker: "open",
		Checks: map[contracts.CheckType]contracts.HealthCheckResult{
			contracts.CheckConnectivity: {IntegrationID: created.ID, CheckType: contracts.CheckConnectivity, Status: contracts.HealthHealthy, LatencyMs: 12, CheckedAt: at.Add(-time.Second)},
			contracts.CheckAuthentication: {IntegrationID: created.ID, CheckType: contracts.CheckAuthentication, Status: contracts.HealthUnhealthy, LatencyMs: 34,
				ErrorCode: "AUTHENTICATION_FAILED", Message: "webhook: the endpoint refused the signature (401)", CheckedAt: at},
		},
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: catalog.BucketHealth})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rec)
	if _, err := kv.Put(ctx, tenantA+"."+created.ID, b); err != nil {
		t.Fatal(err)
	}
	check := func(what string, it contracts.Integration) {
		t.Helper()
		auth := it.HealthChecks[contracts.CheckAuthentication]
		if it.HealthStatus != contracts.HealthUnhealthy || it.CircuitBreaker != "open" || len(it.HealthChecks) != 2 ||
			auth.ErrorCode != "AUTHENTICATION_FAILED" || auth.Message != rec.Checks[contracts.CheckAuthentication].Message ||
			auth.LatencyMs != 34 || !auth.CheckedAt.Equal(at) || auth.Status != contracts.HealthUnhealthy ||
			it.HealthChecks[contracts.CheckConnectivity].Status != contracts.HealthHealthy {
			t.Errorf("%s: health %s, breaker %q, checks %+v", what, it.HealthStatus, it.CircuitBreaker, it.HealthChecks)
		}
	}
	got, err := cl.Get(ctx, catalog.GetRequest{TenantID: tenantA, ID: created.ID})
	if err != nil {
		t.Fatal(err)
	}
	check("get", got)
	list, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantA, Query: contracts.ListQuery{HealthStatus: contracts.HealthUnhealthy}})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list unhealthy: %+v, %v", list, err)
	}
	check("list", list.Items[0])
	patched, err := cl.Patch(ctx, catalog.PatchRequest{TenantID: tenantA, ID: created.ID, IfMatch: got.Revision, Patch: json.RawMessage(`{"description":"now with a why"}`)})
	if err != nil {
		t.Fatal(err)
	}
	check("patch answer", patched)

	// Health is the scheduler's: the catalog's record and the lifecycle
	// events (created, updated) hold none of it.
	ikv, err := js.KeyValue(ctx, catalog.BucketIntegrations)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ikv.Get(ctx, tenantA+"."+created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(e.Value()); strings.Contains(s, "healthChecks") || strings.Contains(s, "circuitBreaker") || strings.Contains(s, "AUTHENTICATION_FAILED") {
		t.Errorf("the stored record holds health: %s", s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := events(t, js)
		if len(msgs) >= 2 {
			for _, m := range msgs {
				var ev contracts.LifecycleEvent
				if err := json.Unmarshal(m.Data(), &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Integration.HealthChecks != nil || ev.Integration.CircuitBreaker != "" || strings.Contains(string(m.Data()), "AUTHENTICATION_FAILED") {
					t.Errorf("lifecycle event %s carries health: %s", m.Subject(), m.Data())
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lifecycle events after 10s, want created and updated", len(msgs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDuplicateNamesAreAllowed pins the decision of
// docs/decisions/0006-integration-names.md: a name is a display name, so two
// integrations of one tenant may share one (by create, replace or patch);
// the id identifies. A credential reference naming a store by a shared name
// is what is refused (TestReferencesAreCheckedWhenSaved, "a name two
// integrations share").
func TestDuplicateNamesAreAllowed(t *testing.T) {
	t.Parallel()
	cl, _ := startManager(t)
	ctx := context.Background()
	first, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("Release hooks")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("Release hooks")})
	if err != nil {
		t.Fatalf("a second integration named like the first: %v", err)
	}
	other, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("Other hooks")})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == second.ID || first.Integration.Name != second.Integration.Name {
		t.Fatalf("first %s %q, second %s %q: want two integrations of one name", first.ID, first.Integration.Name, second.ID, second.Integration.Name)
	}
	renamed, err := cl.Patch(ctx, catalog.PatchRequest{TenantID: tenantA, ID: other.ID, IfMatch: other.Revision, Patch: json.RawMessage(`{"name":"Release hooks"}`)})
	if err != nil || renamed.Name != "Release hooks" {
		t.Fatalf("rename to a name in use: %+v, %v", renamed, err)
	}
	list, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantA})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, it := range list.Items {
		if it.Name == "Release hooks" {
			ids[it.ID] = true
		}
	}
	if len(ids) != 3 || !ids[first.ID] || !ids[second.ID] || !ids[other.ID] {
		t.Fatalf("list holds %v named \"Release hooks\", want the three", ids)
	}
}
