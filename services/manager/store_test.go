package manager_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/natstest"
)

// hangingStore is the integrations bucket with tenant A's key listing stuck:
// its lister never delivers a key nor ends, whatever the context, as a KV
// listing across a NATS restart did.
type hangingStore struct{ jetstream.KeyValue }

func (h hangingStore) ListKeysFiltered(ctx context.Context, filters ...string) (jetstream.KeyLister, error) {
	if len(filters) == 1 && strings.HasPrefix(filters[0], tenantA+".") {
		return stuckLister{}, nil
	}
	return h.KeyValue.ListKeysFiltered(ctx, filters...)
}

type stuckLister struct{}

func (stuckLister) Keys() <-chan string { return nil } // never delivers, never closes
func (stuckLister) Stop() error         { return nil }

// TestAStoreCallThatNeverReturnsFailsWithinItsBound: a list blocked in the
// store held its endpoint until the request's 30 s bound, and every other
// list waited behind it. Now the store call fails at its own bound (503
// UNAVAILABLE, never a short list), and another tenant's list answers at
// once meanwhile.
func TestAStoreCallThatNeverReturnsFailsWithinItsBound(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	cfg := managerConfig(t, s)
	cfg.StoreTimeout = 2 * time.Second
	manager.WrapStore(&cfg, func(kv jetstream.KeyValue) jetstream.KeyValue { return hangingStore{kv} })
	runManager(t, cfg)
	nc, _ := connect(t, s)
	cl := catalog.NewClient(nc, 20*time.Second)
	ctx := context.Background()
	if _, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantB, Input: inputOfB("b")}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		err  error
		took time.Duration
	}
	stuck := make(chan result, 1)
	go func() {
		start := time.Now()
		_, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantA})
		stuck <- result{err, time.Since(start)}
	}()
	time.Sleep(200 * time.Millisecond) // A's list is in the stuck store
	for i := range 3 {
		start := time.Now()
		list, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantB})
		if took := time.Since(start); err != nil || len(list.Items) != 1 || took > time.Second {
			t.Fatalf("B's list %d beside a stuck one: %d items, %v, after %s", i, len(list.Items), err, took)
		}
	}
	r := <-stuck
	var ae *apierr.Error
	if !errors.As(r.err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != apierr.Unavailable {
		t.Fatalf("stuck list answered %v, want 503 UNAVAILABLE", r.err)
	}
	if r.took < cfg.StoreTimeout || r.took > cfg.StoreTimeout+2*time.Second {
		t.Fatalf("stuck list answered after %s, want about its store bound %s", r.took, cfg.StoreTimeout)
	}
}
