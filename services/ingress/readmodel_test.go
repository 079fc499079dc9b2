package ingress

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// readModelFixture is a read model following real buckets of an embedded
// JetStream.
type readModelFixture struct {
	m              *readModel
	itKV, healthKV jetstream.KeyValue
}

func newReadModelFixture(t *testing.T) *readModelFixture {
	t.Helper()
	b := natstest.Open(t, natstest.Start(t), "readmodel")
	ctx := context.Background()
	f := &readModelFixture{m: newReadModel()}
	var err error
	if f.itKV, err = b.JetStream().CreateOrUpdateKeyValue(ctx, catalog.IntegrationsBucket(1)); err != nil {
		t.Fatal(err)
	}
	if f.healthKV, err = b.JetStream().CreateOrUpdateKeyValue(ctx, catalog.HealthBucket(1)); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- f.m.view.Watch(wctx, f.itKV) }()
	go func() { done <- f.m.followHealth(wctx, f.healthKV) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("watch: %v", err)
			}
		}
	})
	for _, ready := range []<-chan struct{}{f.m.view.Ready(), f.m.healthReady} {
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("read model not ready")
		}
	}
	return f
}

func (f *readModelFixture) put(t *testing.T, kv jetstream.KeyValue, key string, v any) uint64 {
	t.Helper()
	b, _ := json.Marshal(v)
	rev, err := kv.Put(context.Background(), key, b)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not reached: %s", what)
}

// TestReadModelReadYourWrites: a write through the ingress that the view
// has not applied yet sends reads of that key to the manager (ok false)
// instead of answering the older version; once applied, the view answers.
// A delete does the same until the view dropped the key.
func TestReadModelReadYourWrites(t *testing.T) {
	t.Parallel()
	f := newReadModelFixture(t)
	ctx := context.Background()
	const tenant, other = "0193a0b4-0000-7000-8000-00000000000a", "0193a0b4-0000-7000-8000-00000000000b"
	it := contracts.Integration{ID: "0193a0b4-0000-7000-8000-0000000000c1", TenantID: tenant, TypeID: "inmemory", Name: "one",
		Config: map[string]any{}, Labels: map[string]string{}}
	rev1 := f.put(t, f.itKV, tenant+"."+it.ID, it)
	eventually(t, "the view holds revision 1", func() bool { got, ok := f.m.get(ctx, tenant, it.ID); return ok && got.Revision == rev1 })
	if _, ok := f.m.get(ctx, other, it.ID); ok {
		t.Fatal("another tenant read the integration from the view")
	}

	// An update made rev1+1 and the view has not seen it.
	f.m.wrote(tenant, it.ID, rev1+1)
	if got, ok := f.m.get(ctx, tenant, it.ID); ok {
		t.Fatalf("answered revision %d while the write of %d is pending", got.Revision, rev1+1)
	}
	it.Name = "two"
	rev2 := f.put(t, f.itKV, tenant+"."+it.ID, it)
	eventually(t, "the view answers the write", func() bool {
		got, ok := f.m.get(ctx, tenant, it.ID)
		return ok && got.Revision == rev2 && got.Name == "two"
	})

	// A delete of rev2, not yet applied by the view.
	f.m.wrote(tenant, it.ID, rev2+1)
	if _, ok := f.m.get(ctx, tenant, it.ID); ok {
		t.Fatal("answered a deleted integration while its delete is pending")
	}
	if err := f.itKV.Delete(context.Background(), tenant+"."+it.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the view applied the delete", func() bool {
		f.m.pmu.Lock()
		defer f.m.pmu.Unlock()
		return len(f.m.pending) == 0
	})
	if _, ok := f.m.get(ctx, tenant, it.ID); ok {
		t.Fatal("answered a deleted integration")
	}
}

// TestReadModelJoinsHealth: the health record of the health bucket is
// joined as the manager joins it; none is unknown.
func TestReadModelJoinsHealth(t *testing.T) {
	t.Parallel()
	f := newReadModelFixture(t)
	ctx := context.Background()
	const tenant = "0193a0b4-0000-7000-8000-00000000000a"
	it := contracts.Integration{ID: "0193a0b4-0000-7000-8000-0000000000c2", TenantID: tenant, TypeID: "inmemory", Name: "h",
		Config: map[string]any{}, Labels: map[string]string{}}
	f.put(t, f.itKV, tenant+"."+it.ID, it)
	eventually(t, "the view holds it", func() bool { _, ok := f.m.get(ctx, tenant, it.ID); return ok })
	if got, _ := f.m.get(ctx, tenant, it.ID); got.HealthStatus != contracts.HealthUnknown || got.LastHealthCheck != nil {
		t.Fatalf("health before any check: %q %v, want unknown and no time", got.HealthStatus, got.LastHealthCheck)
	}
	checked := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC)
	f.put(t, f.healthKV, tenant+"."+it.ID, contracts.IntegrationHealth{TenantID: tenant, IntegrationID: it.ID,
		Status: contracts.HealthHealthy, LastCheck: &checked, Breaker: "closed"})
	eventually(t, "health joined", func() bool {
		got, ok := f.m.get(ctx, tenant, it.ID)
		return ok && got.HealthStatus == contracts.HealthHealthy && got.CircuitBreaker == "closed" &&
			got.LastHealthCheck != nil && got.LastHealthCheck.Equal(checked.Truncate(time.Millisecond))
	})
}
