package pipelinerunner

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/pipelineruns"
)

// TestReadEndpoints: the runner answers reads of its runs over
// request-reply: one run, and the integration's runs newest first in
// pages; a run of another tenant or integration is the same 404 as a
// missing one.
func TestReadEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0, contracts.RunSucceeded)
	e.start()
	var ids []string
	for _, key := range []string{"k1", "k2", "k3"} {
		cmd := contracts.PipelineTriggerRequested{RequestID: uuid.NewString(), Pipeline: "deploy", IdempotencyKey: key}
		e.trigger(cmd)
		cmd.TenantID, cmd.IntegrationID = tenant, e.itID
		ids = append(ids, RunID(cmd))
		waitFor(t, "started "+key, func() bool { return len(e.events.of(ids[len(ids)-1])[contracts.SubjectRunStarted]) > 0 })
	}
	c := pipelineruns.NewClient(e.client.Conn(), 0)
	ctx := context.Background()

	t.Run("get", func(t *testing.T) {
		run, err := c.Get(ctx, pipelineruns.GetRequest{TenantID: tenant, IntegrationID: e.itID, RunID: ids[0]})
		if err != nil || run.RunID != ids[0] || run.Pipeline != "deploy" {
			t.Fatalf("get: %+v %v", run, err)
		}
	})
	t.Run("list pages newest first", func(t *testing.T) {
		var got []string
		cursor := ""
		for range 3 {
			page, err := c.List(ctx, pipelineruns.ListRequest{TenantID: tenant, IntegrationID: e.itID, Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Items {
				got = append(got, r.RunID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(got) != 3 || got[0] != ids[2] || got[2] != ids[0] {
			t.Fatalf("listed %v, want %v reversed", got, ids)
		}
	})
	for name, req := range map[string]pipelineruns.GetRequest{
		"another tenant":      {TenantID: "other", IntegrationID: e.itID, RunID: ids[0]},
		"another integration": {TenantID: tenant, IntegrationID: uuid.NewString(), RunID: ids[0]},
		"missing":             {TenantID: tenant, IntegrationID: e.itID, RunID: uuid.NewString()},
		"not an id":           {TenantID: tenant, IntegrationID: e.itID, RunID: "x.y"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Get(ctx, req)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != pipelineruns.RunNotFound {
				t.Fatalf("got %v, want 404 %s", err, pipelineruns.RunNotFound)
			}
		})
	}
	t.Run("other tenant's list is empty", func(t *testing.T) {
		page, err := c.List(ctx, pipelineruns.ListRequest{TenantID: "other", IntegrationID: e.itID})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("%+v %v", page, err)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		_, err := c.List(ctx, pipelineruns.ListRequest{TenantID: tenant, IntegrationID: e.itID, Cursor: "nope"})
		if apierr.From(err).Code != apierr.InvalidCursor {
			t.Fatalf("got %v", err)
		}
	})
}
