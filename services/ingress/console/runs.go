package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/stella-ops/inthub/shared/contracts"
)

// pipelineRuns lists an integration's pipeline runs, newest first, a page
// at a time (the API's cursor).
func (c *Console) pipelineRuns(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var it contracts.Integration
	if _, err := s.api.do(http.MethodGet, "/api/v1/integrations/"+url.PathEscape(id), nil, nil, &it); err != nil {
		c.fail(w, r, s, err)
		return
	}
	q := url.Values{"limit": {"50"}}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	var list contracts.PipelineRunList
	if _, err := s.api.do(http.MethodGet, "/api/v1/integrations/"+url.PathEscape(id)+"/runs", q, nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "runs", "Pipeline runs: "+it.Name, "catalog", map[string]any{"Integration": it, "List": list})
}

// analysisRun shows one analysis run: each metric's phase and counts, and
// its measurements. Without an id it asks for one (runs are found by the
// id their creator was given; there is no list to browse).
func (c *Console) analysisRun(w http.ResponseWriter, r *http.Request, s *session) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if id == "" {
		c.render(w, r, s, http.StatusOK, "analysis", "Analysis runs", "analysis", map[string]any{})
		return
	}
	var run contracts.AnalysisRun
	if _, err := s.api.do(http.MethodGet, "/api/v1/analysis-runs/"+url.PathEscape(id), nil, nil, &run); err != nil {
		c.fail(w, r, s, err)
		return
	}
	// Newest measurement first, as the other histories.
	slices.Reverse(run.Measurements)
	c.render(w, r, s, http.StatusOK, "analysis", "Analysis run "+run.RunID, "analysis", map[string]any{"Run": run})
}

// hasCapability says whether a provider declares c.
func hasCapability(p contracts.ProviderInfo, c string) bool {
	return slices.Contains(p.Capabilities, c)
}
