package pipelinerunner

import (
	"cmp"
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/pipelineruns"
)

// reads answers the run endpoints from the bucket: every replica answers
// every read, since the records, not a replica, hold the runs.
type reads struct{ store *runStore }

// notFound is the answer for a run that is not the caller's, whether it
// exists in another tenant or integration or not at all.
func notFound(runID string) error {
	return apierr.New(http.StatusNotFound, pipelineruns.RunNotFound, "pipeline run %s not found", truncate(runID, 64))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// validTokens refuses a tenant or integration id that is no single key
// token, so that no request reads outside its tenant's keys.
func validTokens(ids ...string) error {
	for _, id := range ids {
		if id == "" || strings.ContainsAny(id, ".*> \t\r\n") {
			return apierr.BadRequest(apierr.ValidationFailed, "tenantId and integrationId must be non-empty key tokens")
		}
	}
	return nil
}

// Get reads one run of the tenant's integration.
func (s *reads) Get(ctx context.Context, r pipelineruns.GetRequest) (contracts.PipelineRun, error) {
	if err := validTokens(r.TenantID, r.IntegrationID); err != nil {
		return contracts.PipelineRun{}, err
	}
	if _, err := uuid.Parse(r.RunID); err != nil {
		return contracts.PipelineRun{}, notFound(r.RunID)
	}
	rec, _, found, err := s.store.get(ctx, runKey(r.TenantID, r.RunID))
	if err != nil {
		return contracts.PipelineRun{}, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the run store cannot be read")
	}
	if !found || rec.Run.IntegrationID != r.IntegrationID {
		return contracts.PipelineRun{}, notFound(r.RunID)
	}
	return rec.Run, nil
}

// List reads a page of the integration's runs, newest first. It reads
// every run of the tenant: the bucket is keyed by tenant, not integration.
func (s *reads) List(ctx context.Context, r pipelineruns.ListRequest) (contracts.PipelineRunList, error) {
	if err := validTokens(r.TenantID, r.IntegrationID); err != nil {
		return contracts.PipelineRunList{}, err
	}
	limit := r.Limit
	if limit == 0 {
		limit = pipelineruns.DefaultLimit
	}
	if limit < 1 || limit > pipelineruns.MaxLimit {
		return contracts.PipelineRunList{}, apierr.BadRequest(apierr.InvalidQuery, "limit must be a whole number from 1 to %d", pipelineruns.MaxLimit)
	}
	after := ""
	if r.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(r.Cursor)
		if err != nil || uuid.Validate(string(b)) != nil {
			return contracts.PipelineRunList{}, apierr.BadRequest(apierr.InvalidCursor, "cursor is not one this endpoint returned")
		}
		after = string(b)
	}
	runs, err := s.store.tenantRuns(ctx, r.TenantID)
	if err != nil {
		return contracts.PipelineRunList{}, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the run store cannot be read")
	}
	runs = slices.DeleteFunc(runs, func(run contracts.PipelineRun) bool { return run.IntegrationID != r.IntegrationID })
	slices.SortFunc(runs, func(a, b contracts.PipelineRun) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.RunID, a.RunID))
	})
	if after != "" {
		i := slices.IndexFunc(runs, func(run contracts.PipelineRun) bool { return run.RunID == after })
		if i < 0 {
			return contracts.PipelineRunList{}, apierr.BadRequest(apierr.InvalidCursor, "cursor is not one this endpoint returned")
		}
		runs = runs[i+1:]
	}
	out := contracts.PipelineRunList{Items: runs}
	if len(runs) > limit {
		out.Items = runs[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(runs[limit-1].RunID))
	}
	if out.Items == nil {
		out.Items = []contracts.PipelineRun{}
	}
	return out, nil
}

// tenantRuns reads every run of the tenant.
func (s *runStore) tenantRuns(ctx context.Context, tenantID string) ([]contracts.PipelineRun, error) {
	keys, err := bus.BucketKeys(ctx, s.js, s.kv, tenantID+".*")
	if err != nil {
		return nil, err
	}
	var out []contracts.PipelineRun
	for _, k := range keys {
		rec, _, found, err := s.get(ctx, k)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, rec.Run)
		}
	}
	return out, nil
}
