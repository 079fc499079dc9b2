package healthscheduler

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// TestHealthStoreReplicasNeverLoseAResult has two stores (two replicas)
// take turns recording one integration's results. Each trusts the record it
// wrote last, which the other has since replaced: the bucket must refuse
// that write and the store must read and fold in the other's result, never
// overwrite it.
func TestHealthStoreReplicasNeverLoseAResult(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	kv, err := js.CreateOrUpdateKeyValue(ctx, catalog.HealthBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	a, b := newHealthStore(kv, 2), newHealthStore(kv, 2)
	it := contracts.Integration{ID: "i1", TenantID: "t1", Revision: 1}
	exists := func() bool { return true }
	at := time.Unix(1_700_000_000, 0).UTC()
	result := func(ct contracts.CheckType, status contracts.HealthStatus, n int) contracts.HealthCheckResult {
		return contracts.HealthCheckResult{IntegrationID: it.ID, CheckType: ct, Status: status, CheckedAt: at.Add(time.Duration(n) * time.Second)}
	}

	steps := []struct {
		name  string
		store *healthStore
		res   contracts.HealthCheckResult
		want  contracts.HealthStatus
	}{
		{"a creates", a, result(contracts.CheckConnectivity, contracts.HealthHealthy, 1), contracts.HealthHealthy},
		{"b has no memory and reads", b, result(contracts.CheckAuthentication, contracts.HealthHealthy, 2), contracts.HealthHealthy},
		{"a's memory is stale", a, result(contracts.CheckConnectivity, contracts.HealthUnhealthy, 3), contracts.HealthHealthy},
		{"b's memory is stale", b, result(contracts.CheckConnectivity, contracts.HealthUnhealthy, 4), contracts.HealthUnhealthy},
		{"b's memory is current", b, result(contracts.CheckFunctionality, contracts.HealthHealthy, 5), contracts.HealthUnhealthy},
	}
	for _, step := range steps {
		tr, err := step.store.record(ctx, it, step.res, "closed", exists, false)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if tr.current != step.want {
			t.Fatalf("%s: status %s, want %s", step.name, tr.current, step.want)
		}
	}
	e, err := kv.Get(ctx, "t1.i1")
	if err != nil {
		t.Fatal(err)
	}
	var rec healthRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Checks) != 3 || rec.Checks[contracts.CheckAuthentication].Status != contracts.HealthHealthy ||
		rec.Checks[contracts.CheckConnectivity].CheckedAt != at.Add(4*time.Second) || rec.Checks[contracts.CheckFunctionality].Status != contracts.HealthHealthy {
		t.Fatalf("a result was lost: %+v", rec.Checks)
	}

	// A deleted integration's record is forgotten with it: a new record
	// under the same key starts from nothing.
	if err := b.remove(ctx, "t1.i1"); err != nil {
		t.Fatal(err)
	}
	tr, err := b.record(ctx, it, result(contracts.CheckConnectivity, contracts.HealthHealthy, 6), "closed", exists, false)
	if err != nil || tr.previous != contracts.HealthUnknown || tr.current != contracts.HealthHealthy {
		t.Fatalf("after remove: %+v, %v", tr, err)
	}
}
