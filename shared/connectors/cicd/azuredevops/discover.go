package azuredevops

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// listTop is the $top of every upstream page, fixed so a cursor's skip
	// into a page stays valid whatever page size a caller asks for.
	listTop = "100"
	// maxListRequests bounds the upstream pages one Discover call reads
	// while a name filter leaves its page short; the cursor continues.
	maxListRequests = 10
	// continuationHeader names the next page of a listing.
	continuationHeader = "X-Ms-Continuationtoken"
)

// pipelinesAnswer is the body of GET {project}/_apis/pipelines.
type pipelinesAnswer struct {
	Count int        `json:"count"`
	Value []pipeline `json:"value"`
}

type pipeline struct {
	ID       int64  `json:"id"`
	Revision int    `json:"revision"`
	Name     string `json:"name"`
	Folder   string `json:"folder"`
	URL      string `json:"url"`
	Links    links  `json:"_links"`
}

// links is the _links of an answer; web is its page.
type links struct {
	Web struct {
		Href string `json:"href"`
	} `json:"web"`
}

// Discover implements connectors.Discoverer: the project's pipelines, by
// name, in Azure DevOps' pages.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	if q.ResourceType != ResourcePipelines {
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
			"resource type %q: provider %s discovers %s", q.ResourceType, ProviderID, ResourcePipelines)
	}
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cur, err := kit.DecodeCursor(q.Cursor, kit.Position.Valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	keep := func(r contracts.Resource) bool {
		folder, _ := r.Attributes["folder"].(string)
		return pattern.Match(r.Name, folderPath(folder, r.Name))
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	items, next, err := kit.Collect(ctx, collector, cur, keep,
		c.pipelinePages)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: items}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(*next)
	}
	return page, nil
}

// folderPath is a pipeline's name under its folder ("\team\deploy" →
// "team/deploy"), which a name pattern also matches.
func folderPath(folder, name string) string {
	f := strings.Trim(strings.ReplaceAll(folder, `\`, "/"), "/")
	if f == "" {
		return name
	}
	return f + "/" + name
}

// pipelinePages is the FetchFunc of the pipelines listing: page "" is the
// first, any other the continuation token, hex-encoded. The hub scrubs the
// value of every query parameter named like a credential
// (continuationToken) from the texts a connector returns, a cursor
// included: in hex, the only spelling the scrubber does not look for, it
// stays whole.
func (c *Connector) pipelinePages(ctx context.Context, page string, _ int) ([]contracts.Resource, string, error) {
	query := url.Values{"$top": {listTop}, "orderBy": {"name asc"}}
	if page != "" {
		token, err := hex.DecodeString(page)
		if err != nil || len(token) == 0 {
			return nil, "", resilience.New(resilience.InvalidConfig, "the discovery cursor is not one this provider issued")
		}
		query.Set("continuationToken", string(token))
	}
	items, header, err := c.listPipelines(ctx, query)
	if err != nil {
		return nil, "", err
	}
	return items, hex.EncodeToString([]byte(header.Get(continuationHeader))), nil
}

// listPipelines reads one page of pipelines.
func (c *Connector) listPipelines(ctx context.Context, query url.Values) ([]contracts.Resource, http.Header, error) {
	var answer pipelinesAnswer
	resp, err := c.call(ctx, "list pipelines", request{method: http.MethodGet, path: c.projectPath + "/_apis/pipelines", query: query}, &answer)
	if err != nil {
		return nil, nil, err
	}
	out := make([]contracts.Resource, 0, len(answer.Value))
	for _, p := range answer.Value {
		out = append(out, contracts.Resource{Type: ResourcePipelines, Name: p.Name, ID: strconv.FormatInt(p.ID, 10), Attributes: map[string]any{
			"folder": p.Folder, "revision": p.Revision, "url": p.URL, "webUrl": p.Links.Web.Href,
		}})
	}
	return out, resp.Header, nil
}
