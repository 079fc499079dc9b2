package startup

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// TestServicesShareACatalog: services of one process given the same view
// (Wiring.Catalog) each follow every create, update and delete through
// their own OnChange, the view watched once; a service given none watches
// a view of its own and sees the same changes.
func TestServicesShareACatalog(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	quiet := slog.New(slog.DiscardHandler)
	integrations := func(replicas int) []jetstream.KeyValueConfig {
		return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	shared := catalog.NewView()
	type service struct {
		name    string
		shared  *catalog.View
		changes chan catalog.Change
		view    chan *catalog.View
	}
	services := []*service{{name: "a", shared: shared}, {name: "b", shared: shared}, {name: "own"}}
	done := make(chan error, len(services)+1)
	go func() {
		done <- Run(ctx, Spec{Name: "catalog view", Bus: natstest.Config(s, "catalog-view"), Logger: quiet, Buckets: integrations,
			Wire: func(_ context.Context, w *Wiring) error {
				w.Watch(shared, w.Bucket(catalog.BucketIntegrations))
				return nil
			}})
	}()
	for _, svc := range services {
		svc.changes, svc.view = make(chan catalog.Change, 16), make(chan *catalog.View, 1)
		ready := make(chan struct{})
		go func() {
			done <- Run(ctx, Spec{Name: svc.name, Bus: natstest.Config(s, svc.name), Logger: quiet, Buckets: integrations, Ready: Closer(ready),
				Wire: func(_ context.Context, w *Wiring) error {
					view := w.Catalog(svc.shared)
					svc.view <- view
					w.OnChange(view, func(_ context.Context, c catalog.Change) { svc.changes <- c })
					return nil
				}})
		}()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("%s: %v", svc.name, err)
		case <-time.After(20 * time.Second):
			t.Fatalf("%s not ready", svc.name)
		}
	}
	t.Cleanup(func() {
		cancel()
		for range len(services) + 1 {
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	})
	for _, svc := range services {
		if v := <-svc.view; (v == shared) != (svc.shared != nil) {
			t.Errorf("%s: shared view %v, given %v", svc.name, v == shared, svc.shared != nil)
		}
	}

	b := natstest.Open(t, s, "writer")
	kv, err := b.JetStream().KeyValue(context.Background(), catalog.BucketIntegrations)
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string) {
		body, _ := json.Marshal(contracts.Integration{ID: "i1", TenantID: "t1", TypeID: "inmemory", Name: name})
		if _, err := kv.Put(context.Background(), "t1.i1", body); err != nil {
			t.Fatal(err)
		}
	}
	put("first")
	put("second")
	if err := kv.Delete(context.Background(), "t1.i1"); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind catalog.ChangeKind
		name string
	}{{catalog.Created, "first"}, {catalog.Updated, "second"}, {catalog.Deleted, "second"}}
	for _, svc := range services {
		for i, w := range want {
			select {
			case c := <-svc.changes:
				if c.Kind != w.kind || c.Key() != "t1.i1" || c.Integration.Name != w.name || !c.Live || c.Revision != uint64(i+1) {
					t.Errorf("%s: change %d = %v %s %q live=%v rev %d, want %v %q live rev %d", svc.name, i, c.Kind, c.Key(), c.Integration.Name, c.Live, c.Revision, w.kind, w.name, i+1)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: change %d (%v) not seen", svc.name, i, w.kind)
			}
		}
	}
}
