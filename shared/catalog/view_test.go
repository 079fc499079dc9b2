package catalog_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

const (
	tenantA = "00000000-0000-4000-8000-00000000000a"
	tenantB = "00000000-0000-4000-8000-00000000000b"
)

// viewFixture is a bucket, a view watching it and the changes it reported.
type viewFixture struct {
	kv      jetstream.KeyValue
	view    *catalog.View
	changes chan catalog.Change
}

// newViewFixture stores initial, then starts the view (one embedded
// JetStream per test).
func newViewFixture(t *testing.T, initial ...contracts.Integration) *viewFixture {
	t.Helper()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "view")
	ctx := context.Background()
	kv, err := b.JetStream().CreateOrUpdateKeyValue(ctx, catalog.IntegrationsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	f := &viewFixture{kv: kv, view: catalog.NewView(), changes: make(chan catalog.Change, 64)}
	for _, it := range initial {
		f.put(t, it)
	}
	f.view.OnChange = func(_ context.Context, c catalog.Change) { f.changes <- c }
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.view.Watch(wctx, kv) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	})
	select {
	case <-f.view.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("view not ready")
	}
	return f
}

func (f *viewFixture) put(t *testing.T, it contracts.Integration) uint64 {
	t.Helper()
	b, _ := json.Marshal(it)
	rev, err := f.kv.Put(context.Background(), it.TenantID+"."+it.ID, b)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// next returns the next change the view reported.
func (f *viewFixture) next(t *testing.T) catalog.Change {
	t.Helper()
	select {
	case c := <-f.changes:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported")
		return catalog.Change{}
	}
}

func integration(tenant, id, name, typeID string) contracts.Integration {
	return contracts.Integration{ID: id, TenantID: tenant, Name: name, TypeID: typeID}
}

func TestViewChanges(t *testing.T) {
	t.Parallel()
	one := integration(tenantA, "i1", "Registry", "docker-registry")
	cases := []struct {
		name    string
		initial []contracts.Integration
		// act changes the bucket and returns the revision it made.
		act  func(t *testing.T, f *viewFixture) uint64
		want []catalog.Change // Kind, TenantID, ID, Live; Revision checked against act's
		// after checks the view once the changes are in.
		after func(t *testing.T, v *catalog.View)
	}{
		{
			name: "replayed values are created, not live", initial: []contracts.Integration{one},
			act:  func(*testing.T, *viewFixture) uint64 { return 1 },
			want: []catalog.Change{{Kind: catalog.Created, TenantID: tenantA, ID: "i1"}},
			after: func(t *testing.T, v *catalog.View) {
				if it, ok := v.Get(tenantA, "i1"); !ok || it.Revision != 1 || it.Name != "Registry" {
					t.Errorf("Get = %+v, %v", it, ok)
				}
			},
		},
		{
			name: "live create",
			act:  func(t *testing.T, f *viewFixture) uint64 { return f.put(t, one) },
			want: []catalog.Change{{Kind: catalog.Created, TenantID: tenantA, ID: "i1", Live: true}},
			after: func(t *testing.T, v *catalog.View) {
				if v.Len() != 1 {
					t.Errorf("Len = %d, want 1", v.Len())
				}
			},
		},
		{
			name: "update carries the new revision", initial: []contracts.Integration{one},
			act: func(t *testing.T, f *viewFixture) uint64 {
				f.next(t) // the replayed create
				changed := one
				changed.Name = "Registry (EU)"
				return f.put(t, changed)
			},
			want: []catalog.Change{{Kind: catalog.Updated, TenantID: tenantA, ID: "i1", Live: true}},
			after: func(t *testing.T, v *catalog.View) {
				if it, _ := v.Get(tenantA, "i1"); it.Name != "Registry (EU)" || it.Revision != 2 {
					t.Errorf("Get = %+v, want the update at revision 2", it)
				}
			},
		},
		{
			name: "delete reports the last integration", initial: []contracts.Integration{one},
			act: func(t *testing.T, f *viewFixture) uint64 {
				f.next(t)
				if err := f.kv.Delete(context.Background(), tenantA+".i1"); err != nil {
					t.Fatal(err)
				}
				return 2
			},
			want: []catalog.Change{{Kind: catalog.Deleted, TenantID: tenantA, ID: "i1", Live: true}},
			after: func(t *testing.T, v *catalog.View) {
				if _, ok := v.Get(tenantA, "i1"); ok || v.Len() != 0 {
					t.Errorf("deleted integration still held (len %d)", v.Len())
				}
			},
		},
		{
			name: "keys and values that are not integrations are skipped",
			act: func(t *testing.T, f *viewFixture) uint64 {
				ctx := context.Background()
				if _, err := f.kv.Put(ctx, "nodot", []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
				if _, err := f.kv.Put(ctx, tenantA+".broken", []byte(`{`)); err != nil {
					t.Fatal(err)
				}
				return f.put(t, one)
			},
			want: []catalog.Change{{Kind: catalog.Created, TenantID: tenantA, ID: "i1", Live: true}},
			after: func(t *testing.T, v *catalog.View) {
				if v.Len() != 1 {
					t.Errorf("Len = %d, want only the integration", v.Len())
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newViewFixture(t, tc.initial...)
			rev := tc.act(t, f)
			for _, want := range tc.want {
				got := f.next(t)
				if got.Kind != want.Kind || got.TenantID != want.TenantID || got.ID != want.ID || got.Live != want.Live {
					t.Errorf("change = %s %s.%s live=%v, want %s %s.%s live=%v", got.Kind, got.TenantID, got.ID, got.Live,
						want.Kind, want.TenantID, want.ID, want.Live)
				}
				if got.Revision != rev {
					t.Errorf("revision = %d, want %d", got.Revision, rev)
				}
				if got.Integration.ID != want.ID {
					t.Errorf("change carries integration %q, want %q", got.Integration.ID, want.ID)
				}
			}
			tc.after(t, f.view)
		})
	}
}

// TestViewRevision: Revision follows Get's revision through an update and
// a delete, and finds no other tenant's integration.
func TestViewRevision(t *testing.T) {
	t.Parallel()
	one := integration(tenantA, "i1", "Registry", "docker-registry")
	f := newViewFixture(t, one)
	f.next(t) // the replayed create
	if rev, ok := f.view.Revision(tenantA, "i1"); !ok || rev != 1 {
		t.Errorf("Revision = %d, %v; want 1", rev, ok)
	}
	if _, ok := f.view.Revision(tenantB, "i1"); ok {
		t.Error("Revision found another tenant's integration")
	}
	one.Name = "Registry (EU)"
	rev := f.put(t, one)
	f.next(t)
	if got, ok := f.view.Revision(tenantA, "i1"); !ok || got != rev {
		t.Errorf("Revision after the update = %d, %v; want %d", got, ok, rev)
	}
	if err := f.kv.Delete(context.Background(), tenantA+".i1"); err != nil {
		t.Fatal(err)
	}
	f.next(t)
	if _, ok := f.view.Revision(tenantA, "i1"); ok {
		t.Error("Revision found a deleted integration")
	}
}

func TestViewLookups(t *testing.T) {
	t.Parallel()
	f := newViewFixture(t,
		integration(tenantA, "s1", "Vault", "vault"),
		integration(tenantA, "s2", "Shared", "vault"),
		integration(tenantA, "s3", "Shared", "awssm"),
		integration(tenantB, "s4", "Vault", "vault"),
	)
	cases := []struct {
		name, tenant, store string
		wantID              string // "" = none
	}{
		{"by id", tenantA, "s1", "s1"},
		{"by unique name", tenantA, "Vault", "s1"},
		{"a name two integrations share names none", tenantA, "Shared", ""},
		{"another tenant's id is not found", tenantB, "s1", ""},
		{"each tenant sees its own name", tenantB, "Vault", "s4"},
		{"unknown tenant", "00000000-0000-4000-8000-0000000000ff", "Vault", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			it, ok := f.view.FindStore(tc.tenant, tc.store)
			if ok != (tc.wantID != "") || (ok && it.ID != tc.wantID) {
				t.Errorf("FindStore(%s) = %q, %v; want %q", tc.store, it.ID, ok, tc.wantID)
			}
		})
	}
	t.Run("all", func(t *testing.T) {
		var ids []string
		f.view.All(func(it contracts.Integration) bool { ids = append(ids, it.ID); return true })
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"s1", "s2", "s3", "s4"}) {
			t.Errorf("All = %v", ids)
		}
	})
}

// TestViewLookupReadsTheBucketOnAMiss: a view whose watch is behind (here
// paused in its change callback, as after a reconnect) still finds an
// integration the bucket holds, and puts it in the view; one the bucket
// does not hold is not found; once the watch catches up it reports the
// integration once, as created.
func TestViewLookupReadsTheBucketOnAMiss(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "lookup")
	ctx := context.Background()
	kv, err := b.JetStream().CreateOrUpdateKeyValue(ctx, catalog.IntegrationsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	put := func(it contracts.Integration) uint64 {
		t.Helper()
		raw, _ := json.Marshal(it)
		rev, err := kv.Put(ctx, it.TenantID+"."+it.ID, raw)
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	view := catalog.NewView()
	if _, _, err := view.Lookup(ctx, tenantA, "any"); err == nil {
		t.Error("Lookup on a view that watches nothing answered; want an error, not a not-found")
	}
	paused := make(chan struct{})
	changes := make(chan catalog.Change, 16)
	view.OnChange = func(ctx context.Context, c catalog.Change) {
		if c.Live && c.ID == "blocker" {
			select {
			case <-paused:
			case <-ctx.Done():
			}
		}
		changes <- c
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- view.Watch(wctx, kv) }()
	t.Cleanup(func() { cancel(); <-done })
	<-view.Ready()
	put(integration(tenantA, "blocker", "Blocker", "webhook"))
	for len(changes) == 0 { // the watch stops in the blocker's callback
		if _, ok := view.Get(tenantA, "blocker"); ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	lateRev := put(integration(tenantA, "late", "Late", "webhook"))
	if _, ok := view.Get(tenantA, "late"); ok {
		t.Fatal("the paused watch delivered the later put: the test does not pause it")
	}

	cases := []struct {
		name, tenant, id string
		want             bool
	}{
		{name: "an integration the watch has not reached is found", tenant: tenantA, id: "late", want: true},
		{name: "a missing one is not found", tenant: tenantA, id: "missing"},
		{name: "another tenant's is not found", tenant: tenantB, id: "late"},
		{name: "a key that cannot exist is not found", tenant: tenantA, id: "late.*"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, found, err := view.Lookup(ctx, tc.tenant, tc.id)
			if err != nil || found != tc.want {
				t.Fatalf("Lookup = %+v, %v, %v; want found %v", it, found, err, tc.want)
			}
			if found && (it.Revision != lateRev || it.Name != "Late") {
				t.Errorf("Lookup = %+v, want revision %d", it, lateRev)
			}
		})
	}
	if it, ok := view.Get(tenantA, "late"); !ok || it.Revision != lateRev {
		t.Errorf("after Lookup the view holds %+v, %v; want it at revision %d", it, ok, lateRev)
	}

	close(paused)
	for _, want := range []string{"blocker", "late"} {
		select {
		case c := <-changes:
			if c.ID != want || c.Kind != catalog.Created || !c.Live {
				t.Errorf("change %+v, want %s created live", c, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no change for %s", want)
		}
	}
	if err := kv.Delete(ctx, tenantA+".late"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if c.ID != "late" || c.Kind != catalog.Deleted {
			t.Errorf("change %+v, want late deleted", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delete")
	}
	if _, found, err := view.Lookup(ctx, tenantA, "late"); found || err != nil {
		t.Errorf("Lookup after the delete = %v, %v; want not found", found, err)
	}
	if view.Len() != 1 {
		t.Errorf("Len = %d, want 1 (the blocker)", view.Len())
	}
}

// TestViewLookupWithoutTheBucket: when the bucket cannot be read, a miss is
// an error (the caller retries), never a not-found.
func TestViewLookupWithoutTheBucket(t *testing.T) {
	t.Parallel()
	b := natstest.Open(t, natstest.Start(t), "gone")
	kv, err := b.JetStream().CreateOrUpdateKeyValue(context.Background(), catalog.IntegrationsBucket(1))
	if err != nil {
		t.Fatal(err)
	}
	view := catalog.NewView()
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = view.Watch(wctx, kv) }()
	t.Cleanup(func() { cancel(); <-done })
	<-view.Ready()
	if err := b.JetStream().DeleteKeyValue(context.Background(), catalog.BucketIntegrations); err != nil {
		t.Fatal(err)
	}
	ctx, cancelRead := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelRead()
	if it, found, err := view.Lookup(ctx, tenantA, "i1"); err == nil || found {
		t.Errorf("Lookup with the bucket gone = %+v, %v, %v; want an error", it, found, err)
	}
}
