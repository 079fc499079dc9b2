package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// subscription is one Subscribe call of a test and what it was handed.
type subscription struct {
	changes chan catalog.Change
	ready   chan struct{}
	cancel  context.CancelFunc
	done    chan error
}

func subscribe(t *testing.T, v *catalog.View) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscription{changes: make(chan catalog.Change, 64), ready: make(chan struct{}), cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- v.Subscribe(ctx, s.ready, func(_ context.Context, c catalog.Change) { s.changes <- c })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-s.done; err != nil {
			t.Errorf("subscribe: %v", err)
		}
	})
	return s
}

// expect reads the next len(want) changes and compares kind, key, Live and
// the integration's name (revisions are checked to increase).
func (s *subscription) expect(t *testing.T, who string, want ...catalog.Change) {
	t.Helper()
	var last uint64
	for i, w := range want {
		select {
		case c := <-s.changes:
			if c.Kind != w.Kind || c.Key() != w.Key() || c.Live != w.Live || c.Integration.Name != w.Integration.Name {
				t.Errorf("%s: change %d = %v %s live=%v %q, want %v %s live=%v %q", who, i, c.Kind, c.Key(), c.Live, c.Integration.Name,
					w.Kind, w.Key(), w.Live, w.Integration.Name)
			}
			if c.Revision <= last || (c.Kind != catalog.Deleted && c.Integration.Revision != c.Revision) {
				t.Errorf("%s: change %d revision %d (integration's %d) after %d", who, i, c.Revision, c.Integration.Revision, last)
			}
			last = c.Revision
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: change %d (%v %s) not handed", who, i, w.Kind, w.Key())
		}
	}
}

func (s *subscription) waitReady(t *testing.T, who string) {
	t.Helper()
	select {
	case <-s.ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not ready", who)
	}
}

func change(kind catalog.ChangeKind, it contracts.Integration, live bool) catalog.Change {
	return catalog.Change{Kind: kind, TenantID: it.TenantID, ID: it.ID, Integration: it, Live: live}
}

// TestSubscribersShareOneView: the services of one process follow one view
// (one watch, one decoded catalog): a subscriber that joins before the
// replay, one that joins after it and one that leaves are each handed every
// change once, in order, replay first and not live, as a view of their own
// would have reported them.
func TestSubscribersShareOneView(t *testing.T) {
	t.Parallel()
	one := integration(tenantA, "i1", "Registry", "docker-registry")
	two := integration(tenantB, "i2", "Slack", "slack")
	f := newViewFixture(t) // a view already watching an empty bucket
	// A second view on the same bucket, watched after its first subscriber
	// joined.
	v := catalog.NewView()
	f.put(t, one)
	f.put(t, two)
	early := subscribe(t, v)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Watch(ctx, f.kv) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	})
	early.expect(t, "early", change(catalog.Created, one, false), change(catalog.Created, two, false))
	early.waitReady(t, "early")

	late := subscribe(t, v)
	late.waitReady(t, "late")
	late.expect(t, "late", change(catalog.Created, one, false), change(catalog.Created, two, false))
	gone := subscribe(t, v)
	gone.waitReady(t, "gone")
	gone.expect(t, "gone", change(catalog.Created, one, false), change(catalog.Created, two, false))
	gone.cancel() // never reads again: the watch must not wait for it

	renamed := one
	renamed.Name = "Registry (EU)"
	three := integration(tenantA, "i3", "GitHub", "github")
	f.put(t, renamed)
	f.put(t, three)
	if err := f.kv.Delete(context.Background(), two.TenantID+"."+two.ID); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		who string
		sub *subscription
	}{{"early", early}, {"late", late}} {
		s.sub.expect(t, s.who, change(catalog.Updated, renamed, true), change(catalog.Created, three, true), change(catalog.Deleted, two, true))
	}
	if v.Len() != 2 {
		t.Errorf("Len = %d, want 2", v.Len())
	}
	if it, ok := v.Get(tenantA, "i1"); !ok || it.Name != "Registry (EU)" {
		t.Errorf("Get(i1) = %+v, %v", it, ok)
	}
}
