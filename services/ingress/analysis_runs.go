package ingress

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/analysisruns"
	"github.com/stella-ops/inthub/shared/contracts"
)

// analysisRuns serves /api/v1/analysis-runs: canary analysis runs, checked,
// kept and measured by the metrics-analyzer and reached over its
// request-reply endpoints. The analyzer is the one judge of a run: a bad
// query or condition is its 4xx, answered before anything is stored.
type analysisRuns struct {
	s      *server
	client *analysisruns.Client
}

func newAnalysisRuns(s *server) *analysisRuns {
	return &analysisRuns{s: s, client: analysisruns.NewClient(s.nc, s.cfg.CallTimeout)}
}

func (a *analysisRuns) create(w http.ResponseWriter, r *http.Request) {
	var in contracts.AnalysisRunInput
	if err := decodeBody(w, r, a.s.cfg.BodyLimit, &in); err != nil {
		writeError(w, err)
		return
	}
	run, err := a.client.Create(r.Context(), analysisruns.CreateRequest{
		TenantID: principalOf(r.Context()).TenantID, RunID: uuid.NewString(), Input: in,
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/analysis-runs/"+run.RunID)
	writeJSON(w, http.StatusCreated, run)
}

func (a *analysisRuns) get(w http.ResponseWriter, r *http.Request) {
	run, err := a.client.Get(r.Context(), analysisruns.GetRequest{TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id")})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (a *analysisRuns) cancel(w http.ResponseWriter, r *http.Request) {
	run, err := a.client.Cancel(r.Context(), analysisruns.CancelRequest{TenantID: principalOf(r.Context()).TenantID, ID: r.PathValue("id")})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}
