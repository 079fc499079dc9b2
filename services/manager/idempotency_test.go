package manager_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/natstest"
)

// TestCreateIsIdempotent: a create retried with its idempotency key (its
// answer lost, or sent twice at once) answers what the first one stored,
// and stores nothing more; before, every retry stored another integration.
func TestCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	runManager(t, managerConfig(t, s))
	nc, js := natstest.Connect(t, s)
	cl := catalog.NewClient(nc, 10*time.Second)
	ctx := context.Background()
	count := func(tenant string) int {
		t.Helper()
		list, err := cl.List(ctx, catalog.ListRequest{TenantID: tenant})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	wantError := func(t *testing.T, err error, status int, code string) {
		t.Helper()
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Status != status || ae.Code != code {
			t.Fatalf("got %v, want %d %s", err, status, code)
		}
	}

	t.Run("a retry answers the first result", func(t *testing.T) {
		req := catalog.CreateRequest{TenantID: tenantA, Input: input("retried"), IdempotencyKey: "create-retried-1"}
		first, err := cl.Create(ctx, req)
		if err != nil || first.Replayed {
			t.Fatalf("first: %+v %v", first, err)
		}
		// Changed since: the retry still answers the version it created.
		if _, err := cl.Patch(ctx, catalog.PatchRequest{TenantID: tenantA, ID: first.ID, Patch: json.RawMessage(`{"description":"later"}`)}); err != nil {
			t.Fatal(err)
		}
		again, err := cl.Create(ctx, req)
		if err != nil || !again.Replayed || again.ID != first.ID || again.Revision != first.Revision || again.Description != "" {
			t.Fatalf("retry: %+v %v, want a replay of %s at revision %d", again, err, first.ID, first.Revision)
		}
	})
	t.Run("the same key with another body is refused", func(t *testing.T) {
		req := catalog.CreateRequest{TenantID: tenantA, Input: input("one"), IdempotencyKey: "create-reused"}
		if _, err := cl.Create(ctx, req); err != nil {
			t.Fatal(err)
		}
		req.Input = input("another")
		_, err := cl.Create(ctx, req)
		wantError(t, err, http.StatusUnprocessableEntity, apierr.IdempotencyKeyReused)
	})
	t.Run("keys are the tenant's own", func(t *testing.T) {
		a, errA := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("mine"), IdempotencyKey: "shared-key"})
		b, errB := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantB, Input: inputOfB("mine"), IdempotencyKey: "shared-key"})
		if errA != nil || errB != nil || a.ID == b.ID || b.Replayed {
			t.Fatalf("A %+v %v, B %+v %v", a, errA, b, errB)
		}
	})
	t.Run("bad keys", func(t *testing.T) {
		for _, k := range []string{"tab\there", "é", strings.Repeat("k", 256)} {
			_, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("x"), IdempotencyKey: k})
			wantError(t, err, http.StatusBadRequest, apierr.InvalidFieldValue)
		}
	})
	t.Run("a deleted integration is not brought back", func(t *testing.T) {
		req := catalog.CreateRequest{TenantID: tenantA, Input: input("gone"), IdempotencyKey: "create-deleted"}
		first, err := cl.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Delete(ctx, catalog.DeleteRequest{TenantID: tenantA, ID: first.ID}); err != nil {
			t.Fatal(err)
		}
		again, err := cl.Create(ctx, req)
		if err != nil || again.ID != first.ID || !again.Replayed {
			t.Fatalf("retry after delete: %+v %v", again, err)
		}
		if _, err := cl.Get(ctx, catalog.GetRequest{TenantID: tenantA, ID: first.ID}); err == nil {
			t.Fatal("the retry brought the deleted integration back")
		}
	})

	// Sent many times at once: one integration, every answer names it.
	before := count(tenantB)
	req := catalog.CreateRequest{TenantID: tenantB, Input: inputOfB("burst"), IdempotencyKey: "create-burst"}
	ids := make(chan string, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			it, err := cl.Create(ctx, req)
			if err != nil {
				t.Errorf("burst create: %v", err)
			}
			ids <- it.ID
		})
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		if id != first {
			t.Fatalf("burst answered %s and %s", first, id)
		}
	}
	if n := count(tenantB) - before; n != 1 {
		t.Fatalf("burst stored %d integrations, want 1", n)
	}
	// And one integration.created for it.
	created := 0
	counts, _ := lifecycleEventIDs(t, js)
	for id, n := range counts {
		if strings.HasPrefix(id, "integration.created:"+first+":") {
			created += n
		}
	}
	if created != 1 {
		t.Fatalf("%d integration.created events for the burst's integration", created)
	}
}
