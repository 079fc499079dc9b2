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

func TestViewAwait(t *testing.T) {
	t.Parallel()
	f := newViewFixture(t)
	cases := []struct {
		name, id string
		create   bool
		timeout  time.Duration
		wantOK   bool
	}{
		{"an integration created while waiting is returned", "late", true, 5 * time.Second, true},
		{"a missing one times out", "missing", false, 200 * time.Millisecond, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.id
			if tc.create {
				go func() {
					time.Sleep(50 * time.Millisecond)
					b, _ := json.Marshal(integration(tenantA, id, "late", "webhook"))
					if _, err := f.kv.Put(context.Background(), tenantA+"."+id, b); err != nil {
						t.Errorf("put: %v", err)
					}
				}()
			}
			it, ok := f.view.Await(context.Background(), tenantA, id, tc.timeout)
			if ok != tc.wantOK || (ok && it.ID != id) {
				t.Errorf("Await = %q, %v; want ok=%v", it.ID, ok, tc.wantOK)
			}
		})
	}
}
