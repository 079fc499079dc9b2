package healthscheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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
	ctx := context.Background()
	kv := healthBucket(t)
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

// countingKV counts the writes and reads that reach the bucket.
type countingKV struct {
	jetstream.KeyValue
	mu                     sync.Mutex
	creates, updates, gets int
}

func (c *countingKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	c.mu.Lock()
	c.creates++
	c.mu.Unlock()
	return c.KeyValue.Create(ctx, key, value, opts...)
}

func (c *countingKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	c.mu.Lock()
	c.updates++
	c.mu.Unlock()
	return c.KeyValue.Update(ctx, key, value, rev)
}

func (c *countingKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.KeyValue.Get(ctx, key)
}

// TestHealthStoreChecksOfOneIntegrationDoNotRace: the three levels of a
// new integration, checked at once, end together on three workers. They
// record one after another, so every result is kept with one write each
// and one read (of the record that does not exist yet), not lost writes
// that read and write again.
func TestHealthStoreChecksOfOneIntegrationDoNotRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := healthBucket(t)
	kv := &countingKV{KeyValue: bucket}
	st := newHealthStore(kv, 1)
	it := contracts.Integration{ID: "i1", TenantID: "t1", Revision: 1}
	at := time.Unix(1_700_000_000, 0).UTC()
	var wg sync.WaitGroup
	for _, ct := range contracts.CheckTypes {
		wg.Go(func() {
			res := contracts.HealthCheckResult{IntegrationID: it.ID, CheckType: ct, Status: contracts.HealthHealthy, CheckedAt: at}
			if _, err := st.record(ctx, it, res, "closed", func() bool { return true }, false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e, err := bucket.Get(ctx, "t1.i1")
	if err != nil {
		t.Fatal(err)
	}
	var rec healthRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Checks) != len(contracts.CheckTypes) {
		t.Fatalf("record holds %d results, want %d: %+v", len(rec.Checks), len(contracts.CheckTypes), rec.Checks)
	}
	if kv.creates+kv.updates != len(contracts.CheckTypes) || kv.gets != 1 {
		t.Fatalf("%d creates, %d updates, %d reads; want %d writes and 1 read", kv.creates, kv.updates, kv.gets, len(contracts.CheckTypes))
	}
	if len(st.writing) != 0 {
		t.Fatalf("%d write locks left", len(st.writing))
	}
}

// TestHealthStoreFreshIntegrationFirstWriteReadsNothing: the first check of
// a just-created integration writes its record without reading the bucket
// first, and a wrong guess (a record exists already, written by another
// replica) still keeps that record's results, at the cost of the refused
// create and a read.
func TestHealthStoreFreshIntegrationFirstWriteReadsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := healthBucket(t)
	at := time.Unix(1_700_000_000, 0).UTC()
	exists := func() bool { return true }
	tests := []struct {
		name string
		// other, when set, is a result another replica recorded first.
		other                  *contracts.HealthCheckResult
		fresh                  bool
		creates, updates, gets int
		wantChecks             int
	}{
		{name: "fresh, no record", fresh: true, creates: 1, wantChecks: 1},
		{name: "fresh, a record exists", fresh: true, other: &contracts.HealthCheckResult{CheckType: contracts.CheckAuthentication, Status: contracts.HealthHealthy, CheckedAt: at},
			creates: 1, updates: 1, gets: 1, wantChecks: 2},
		{name: "not fresh, no record", creates: 1, gets: 1, wantChecks: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := contracts.Integration{ID: fmt.Sprintf("i%d", i), TenantID: "t1", Revision: 1}
			if tt.other != nil {
				if _, err := newHealthStore(bucket, 1).record(ctx, it, *tt.other, "closed", exists, false); err != nil {
					t.Fatal(err)
				}
			}
			kv := &countingKV{KeyValue: bucket}
			st := newHealthStore(kv, 1)
			res := contracts.HealthCheckResult{IntegrationID: it.ID, CheckType: contracts.CheckConnectivity, Status: contracts.HealthHealthy, CheckedAt: at}
			tr, err := st.recordLocked(ctx, it, []outcome{{res: res}}, "closed", exists, tt.fresh)
			if err != nil {
				t.Fatal(err)
			}
			if tr.current != contracts.HealthHealthy {
				t.Fatalf("status %s, want healthy", tr.current)
			}
			if kv.creates != tt.creates || kv.updates != tt.updates || kv.gets != tt.gets {
				t.Fatalf("%d creates, %d updates, %d reads; want %d, %d, %d", kv.creates, kv.updates, kv.gets, tt.creates, tt.updates, tt.gets)
			}
			e, err := bucket.Get(ctx, "t1."+it.ID)
			if err != nil {
				t.Fatal(err)
			}
			var rec healthRecord
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				t.Fatal(err)
			}
			if len(rec.Checks) != tt.wantChecks {
				t.Fatalf("record holds %d results, want %d: %+v", len(rec.Checks), tt.wantChecks, rec.Checks)
			}
		})
	}
}

// healthBucket is the health bucket of a server of the test's own.
func healthBucket(t *testing.T) jetstream.KeyValue {
	t.Helper()
	_, js := natstest.Connect(t, natstest.Start(t))
	kv, err := js.CreateOrUpdateKeyValue(context.Background(), catalog.HealthBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestHealthStoreReadsRecordsOfTheOldShape: a record written in the API's
// shape (as before the compact one) is read, folded into and written back
// compact, keeping its other levels and anti-flapping state; a failing
// level read from it names the integration and its level when it is the
// cause of a change.
func TestHealthStoreReadsRecordsOfTheOldShape(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv := healthBucket(t)
	at := time.Unix(1_700_000_000, 0).UTC()
	it := contracts.Integration{ID: "i1", TenantID: "t1", Revision: 1}
	// The API's shape with the anti-flapping state, as the scheduler
	// wrote records before the compact shape.
	type oldRecord struct {
		contracts.IntegrationHealth
		Flap flapState `json:"flap"`
	}
	old := oldRecord{
		IntegrationHealth: contracts.IntegrationHealth{TenantID: "t1", IntegrationID: "i1", Status: contracts.HealthHealthy, LastCheck: &at, Breaker: "closed",
			Checks: map[contracts.CheckType]contracts.HealthCheckResult{
				contracts.CheckConnectivity:   {IntegrationID: "i1", CheckType: contracts.CheckConnectivity, Status: contracts.HealthHealthy, CheckedAt: at},
				contracts.CheckAuthentication: {IntegrationID: "i1", CheckType: contracts.CheckAuthentication, Status: contracts.HealthUnhealthy, ErrorCode: "AUTH_FAILED", CheckedAt: at},
			}},
		// One unhealthy result seen, a second confirms it (threshold 2).
		Flap: flapState{Confirmed: contracts.HealthHealthy, Pending: contracts.HealthUnhealthy, Streak: 1},
	}
	value, _ := json.Marshal(old)
	if _, err := kv.Create(ctx, "t1.i1", value); err != nil {
		t.Fatal(err)
	}
	res := contracts.HealthCheckResult{IntegrationID: "i1", CheckType: contracts.CheckFunctionality, Status: contracts.HealthHealthy, CheckedAt: at.Add(time.Second)}
	tr, err := newHealthStore(kv, 2).record(ctx, it, res, "closed", func() bool { return true }, false)
	if err != nil {
		t.Fatal(err)
	}
	if tr.previous != contracts.HealthHealthy || tr.current != contracts.HealthUnhealthy {
		t.Errorf("transition %s -> %s, want healthy -> unhealthy (the old record's streak kept)", tr.previous, tr.current)
	}
	if tr.cause.IntegrationID != "i1" || tr.cause.CheckType != contracts.CheckAuthentication || tr.cause.ErrorCode != "AUTH_FAILED" {
		t.Errorf("cause %+v, want the authentication level of i1", tr.cause)
	}
	e, err := kv.Get(ctx, "t1.i1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(e.Value()), `"integrationId"`) {
		t.Errorf("written back in the old shape: %s", e.Value())
	}
	var stored healthRecord
	if err := json.Unmarshal(e.Value(), &stored); err != nil {
		t.Fatal(err)
	}
	rec := stored.Health("t1", "i1")
	if len(rec.Checks) != 3 || rec.Checks[contracts.CheckAuthentication].ErrorCode != "AUTH_FAILED" || rec.Checks[contracts.CheckFunctionality].CheckType != contracts.CheckFunctionality ||
		rec.IntegrationID != "i1" || rec.TenantID != "t1" || stored.Flap.Confirmed != contracts.HealthUnhealthy {
		t.Errorf("record %+v, flap %+v", rec, stored.Flap)
	}
}
