package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// putIntegration writes it to the integrations bucket and waits until the
// read model holds that revision; it returns the revision.
func (f *readModelFixture) putIntegration(t *testing.T, it contracts.Integration) uint64 {
	t.Helper()
	rev := f.put(t, f.itKV, it.TenantID+"."+it.ID, it)
	eventually(t, "the view holds the write", func() bool {
		got, ok := f.m.get(context.Background(), it.TenantID, it.ID)
		return ok && got.Revision == rev
	})
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
	rev1 := f.putIntegration(t, it)
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
	f.putIntegration(t, it)
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

// answerOf is the read model's GET answer of tenant's id, checked to be
// what writeJSON writes for get's integration, with its ETag.
func answerOf(t *testing.T, f *readModelFixture, tenant, id string) (answer, contracts.Integration) {
	t.Helper()
	ctx := context.Background()
	a, ok := f.m.answer(ctx, tenant, id)
	if !ok {
		t.Fatalf("no answer for %s", id)
	}
	it, ok := f.m.get(ctx, tenant, id)
	if !ok {
		t.Fatalf("get found no %s", id)
	}
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, it)
	if got, want := string(a.body), rec.Body.String(); got != want {
		t.Fatalf("answer\n%s\nwant what writeJSON writes\n%s", got, want)
	}
	if want := etag(it.Revision); len(a.etag) != 1 || a.etag[0] != want {
		t.Fatalf("ETag %v, want %s", a.etag, want)
	}
	return a, it
}

// TestReadModelAnswers: GET's encoded answer is kept and served again
// while the integration's revision and its health record stay the same;
// an update, a health change and a delete each end it; another tenant
// never gets it.
func TestReadModelAnswers(t *testing.T) {
	t.Parallel()
	f := newReadModelFixture(t)
	ctx := context.Background()
	const tenant, other = "0193a0b4-0000-7000-8000-00000000000a", "0193a0b4-0000-7000-8000-00000000000b"
	it := contracts.Integration{ID: "0193a0b4-0000-7000-8000-0000000000c3", TenantID: tenant, TypeID: "inmemory", Name: "one",
		Config: map[string]any{"url": "http://example.test/<v2>"}, Labels: map[string]string{"env": "prod"}}
	f.putIntegration(t, it)

	first, _ := answerOf(t, f, tenant, it.ID)
	again, _ := answerOf(t, f, tenant, it.ID)
	if &again.body[0] != &first.body[0] {
		t.Fatal("the second read encoded the answer again instead of serving the kept one")
	}
	if _, ok := f.m.answer(ctx, other, it.ID); ok {
		t.Fatal("another tenant read the integration's answer")
	}

	// An update: the answer is of the new revision.
	it.Name = "two"
	rev2 := f.put(t, f.itKV, tenant+"."+it.ID, it)
	eventually(t, "the answer follows the update", func() bool {
		a, ok := f.m.answer(ctx, tenant, it.ID)
		return ok && a.rev == rev2
	})
	a, got := answerOf(t, f, tenant, it.ID)
	if got.Name != "two" || !bytes.Contains(a.body, []byte(`"name":"two"`)) {
		t.Fatalf("answer after the update: %s", a.body)
	}

	// A health change: the answer joins the new record.
	checked := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, status := range []contracts.HealthStatus{contracts.HealthHealthy, contracts.HealthUnhealthy} {
		f.put(t, f.healthKV, tenant+"."+it.ID, contracts.IntegrationHealth{TenantID: tenant, IntegrationID: it.ID,
			Status: status, LastCheck: &checked, Breaker: "closed"})
		eventually(t, "the answer joins health "+string(status), func() bool {
			a, ok := f.m.answer(ctx, tenant, it.ID)
			return ok && bytes.Contains(a.body, []byte(`"healthStatus":"`+string(status)+`"`))
		})
		answerOf(t, f, tenant, it.ID)
	}
	if _, ok := f.m.answer(ctx, other, it.ID); ok {
		t.Fatal("another tenant read the integration's answer")
	}

	// A write pending through this ingress: no answer (the manager's).
	f.m.wrote(tenant, it.ID, rev2+10)
	if _, ok := f.m.answer(ctx, tenant, it.ID); ok {
		t.Fatal("answered while a newer write is pending")
	}
	f.m.applied(tenant+"."+it.ID, rev2+10)

	// A delete: no answer, and none kept.
	if err := f.itKV.Delete(ctx, tenant+"."+it.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delete is applied", func() bool { _, ok := f.m.view.Revision(tenant, it.ID); return !ok })
	if _, ok := f.m.answer(ctx, tenant, it.ID); ok {
		t.Fatal("answered a deleted integration")
	}
	f.m.hmu.RLock()
	defer f.m.hmu.RUnlock()
	if _, kept := f.m.answers[itemKey{tenant, it.ID}]; kept {
		t.Fatal("a deleted integration's answer is still kept")
	}
}

// TestReadModelAnswersBounded: the kept answers stay within their bound.
func TestReadModelAnswersBounded(t *testing.T) {
	t.Parallel()
	f := newReadModelFixture(t)
	const tenant = "0193a0b4-0000-7000-8000-00000000000a"
	f.m.hmu.Lock()
	f.m.answersMax = 4 << 10
	f.m.hmu.Unlock()
	var ids []string
	for i := range 20 {
		it := contracts.Integration{ID: fmt.Sprintf("0193a0b4-0000-7000-8000-%012d", i), TenantID: tenant, TypeID: "inmemory",
			Name: "n", Config: map[string]any{}, Labels: map[string]string{}}
		f.put(t, f.itKV, tenant+"."+it.ID, it)
		ids = append(ids, it.ID)
	}
	eventually(t, "the view holds them", func() bool { return f.m.view.Len() == len(ids) })
	for _, id := range ids {
		answerOf(t, f, tenant, id)
	}
	f.m.hmu.RLock()
	defer f.m.hmu.RUnlock()
	if f.m.answersSize > f.m.answersMax || len(f.m.answers) == 0 || len(f.m.answers) == len(ids) {
		t.Fatalf("%d answers of %d bytes kept, bound %d", len(f.m.answers), f.m.answersSize, f.m.answersMax)
	}
}

// TestReadModelAnswersUnderChanges: reads racing with updates and health
// changes never leave a stale answer served: once the last of each is
// applied, the answer is theirs.
func TestReadModelAnswersUnderChanges(t *testing.T) {
	t.Parallel()
	f := newReadModelFixture(t)
	ctx := context.Background()
	const tenant = "0193a0b4-0000-7000-8000-00000000000a"
	it := contracts.Integration{ID: "0193a0b4-0000-7000-8000-0000000000c4", TenantID: tenant, TypeID: "inmemory", Name: "v0",
		Config: map[string]any{}, Labels: map[string]string{}}
	f.putIntegration(t, it)
	stop := make(chan struct{})
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
					f.m.answer(ctx, tenant, it.ID)
				}
			}
		}()
	}
	var rev uint64
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 1; i <= 20; i++ {
		it.Name = fmt.Sprintf("v%d", i)
		rev = f.put(t, f.itKV, tenant+"."+it.ID, it)
		at = at.Add(time.Second)
		f.put(t, f.healthKV, tenant+"."+it.ID, contracts.IntegrationHealth{TenantID: tenant, IntegrationID: it.ID,
			Status: contracts.HealthHealthy, LastCheck: &at})
	}
	close(stop)
	for range 4 {
		<-done
	}
	want := `"lastHealthCheck":"` + at.Format(time.RFC3339) + `"`
	eventually(t, "the answer is the last update's with the last health record", func() bool {
		a, ok := f.m.answer(ctx, tenant, it.ID)
		return ok && a.rev == rev && bytes.Contains(a.body, []byte(`"name":"v20"`)) && bytes.Contains(a.body, []byte(want))
	})
	answerOf(t, f, tenant, it.ID)
}
