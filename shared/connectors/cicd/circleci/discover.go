package circleci

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// maxListRequests bounds the CircleCI pages one Discover call reads
	// (CircleCI's pages are a few tens of items); the cursor continues.
	maxListRequests = 20
	// maxFollowPages bounds the pages of one run's workflows or jobs.
	maxFollowPages = 20
)

// listPage is a CircleCI listing answer.
type listPage[T any] struct {
	Items         []T     `json:"items"`
	NextPageToken *string `json:"next_page_token"`
}

// pipelineItem is a pipeline of GET /project/{slug}/pipeline and
// GET /pipeline/{id}.
type pipelineItem struct {
	ID          string `json:"id"`
	Number      int64  `json:"number"`
	State       string `json:"state"`
	ProjectSlug string `json:"project_slug"`
	CreatedAt   string `json:"created_at"`
	Errors      []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"errors"`
	Trigger struct {
		Type string `json:"type"`
	} `json:"trigger"`
	VCS struct {
		Branch string `json:"branch"`
		Tag    string `json:"tag"`
	} `json:"vcs"`
}

// insightWorkflow is a workflow of GET /insights/{slug}/workflows.
type insightWorkflow struct {
	Name    string `json:"name"`
	Metrics struct {
		TotalRuns      int     `json:"total_runs"`
		SuccessfulRuns int     `json:"successful_runs"`
		SuccessRate    float64 `json:"success_rate"`
	} `json:"metrics"`
	WindowStart string `json:"window_start"`
	WindowEnd   string `json:"window_end"`
}

// tokenPages is a FetchFunc over a listing paged by next_page_token: page
// "" is the first, any other the page-token to send, hex-encoded. The hub
// scrubs the value of every query parameter named like a credential
// (page-token) from the texts a connector returns, a cursor included: in
// hex, the only spelling the scrubber does not look for, it stays whole.
func tokenPages[T any](c *Connector, what, path string, query url.Values) kit.FetchFunc[T] {
	return func(ctx context.Context, page string, _ int) ([]T, string, error) {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if page != "" {
			token, err := hex.DecodeString(page)
			if err != nil || len(token) == 0 {
				return nil, "", resilience.New(resilience.InvalidConfig, "the discovery cursor is not one this provider issued")
			}
			q.Set("page-token", string(token))
		}
		var answer listPage[T]
		if _, err := c.call(ctx, what, request{method: http.MethodGet, path: path, query: q}, &answer); err != nil {
			return nil, "", err
		}
		if answer.NextPageToken == nil || *answer.NextPageToken == "" {
			return answer.Items, "", nil
		}
		return answer.Items, hex.EncodeToString([]byte(*answer.NextPageToken)), nil
	}
}

// listAll reads every page of a listing (a run's workflows or jobs).
func listAll[T any](ctx context.Context, fetch kit.FetchFunc[T], what string) ([]T, error) {
	var out []T
	token := ""
	for range maxFollowPages {
		items, next, err := fetch(ctx, token, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		token = next
	}
	return nil, resilience.New(resilience.UpstreamError, "%s: more than %d pages", what, maxFollowPages)
}

// Discover implements connectors.Discoverer: the project's pipelines,
// newest first, or its workflows by name.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cur, err := kit.DecodeCursor(q.Cursor, kit.Position.Valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	var items []contracts.Resource
	var next *kit.Position
	switch q.ResourceType {
	case ResourcePipelines:
		// A pipeline is named by its number; the pattern also matches its
		// branch or tag.
		var got []pipelineItem
		got, next, err = kit.Collect(ctx, collector, cur, func(p pipelineItem) bool {
			return pattern.Match(strconv.FormatInt(p.Number, 10), p.VCS.Branch, p.VCS.Tag)
		}, tokenPages[pipelineItem](c, "list the pipelines of "+c.project, "/project"+slugPath(c.project)+"/pipeline", nil))
		for _, p := range got {
			items = append(items, contracts.Resource{Type: ResourcePipelines, Name: strconv.FormatInt(p.Number, 10), ID: p.ID, Attributes: map[string]any{
				"state": p.State, "branch": p.VCS.Branch, "tag": p.VCS.Tag, "trigger": p.Trigger.Type, "createdAt": p.CreatedAt,
				"webUrl": c.webURL(c.project, p.Number),
			}})
		}
	case ResourceWorkflows:
		var got []insightWorkflow
		got, next, err = kit.Collect(ctx, collector, cur, func(w insightWorkflow) bool { return pattern.Match(w.Name) },
			tokenPages[insightWorkflow](c, "list the workflows of "+c.project, "/insights"+slugPath(c.project)+"/workflows", url.Values{"all-branches": {"true"}}))
		for _, w := range got {
			items = append(items, contracts.Resource{Type: ResourceWorkflows, Name: w.Name, ID: w.Name, Attributes: map[string]any{
				"totalRuns": w.Metrics.TotalRuns, "successfulRuns": w.Metrics.SuccessfulRuns, "successRate": w.Metrics.SuccessRate,
				"windowStart": w.WindowStart, "windowEnd": w.WindowEnd,
			}})
		}
	default:
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
			"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourcePipelines, ResourceWorkflows)
	}
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	out := connectors.DiscoveryPage{Items: items}
	if out.Items == nil {
		out.Items = []contracts.Resource{}
	}
	if next != nil {
		out.NextCursor = kit.EncodeCursor(*next)
	}
	return out, nil
}

// webURL is a pipeline's page in the web app: /pipelines/{slug}/{number},
// with the VCS spelled out as the app does (gh → github, bb → bitbucket).
func (c *Connector) webURL(slug string, number int64) string {
	vcs, rest, _ := cutSlug(slug)
	switch vcs {
	case "gh":
		vcs = "github"
	case "bb":
		vcs = "bitbucket"
	}
	u := *c.web
	u.Path = c.web.Path + "/pipelines/" + vcs + "/" + rest + "/" + strconv.FormatInt(number, 10)
	u.RawPath = ""
	return u.String()
}
