package manager_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// hangingStore is the integrations bucket with reads of tenant A's
// integrations stuck once hang is set: a read waits until its context
// ends, as a call to a bucket whose server stopped answering does.
type hangingStore struct {
	jetstream.KeyValue
	hang *atomic.Bool
}

func (h hangingStore) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if h.hang.Load() && strings.HasPrefix(key, tenantA+".") {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.KeyValue.Get(ctx, key)
}

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
	hang := new(atomic.Bool)
	manager.WrapStore(&cfg, func(kv jetstream.KeyValue) jetstream.KeyValue { return hangingStore{kv, hang} })
	runManager(t, cfg)
	nc, _ := natstest.Connect(t, s)
	cl := catalog.NewClient(nc, 20*time.Second)
	ctx := context.Background()
	for tenant, input := range map[string]contracts.IntegrationInput{tenantA: input("a"), tenantB: inputOfB("b")} {
		if _, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenant, Input: input}); err != nil {
			t.Fatal(err)
		}
	}
	hang.Store(true)

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
