package teamcity

import (
	"context"
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
	// upstreamCount is the count of every locator: a fixed upstream page
	// keeps a cursor's start and skip valid whatever page size a caller
	// asks for.
	upstreamCount = 100
	// maxListRequests bounds the TeamCity pages one Discover call reads
	// while a name filter leaves its page short; the cursor continues.
	maxListRequests = 10
	// rootProject is TeamCity's root, which holds no build configuration
	// of its own worth discovering.
	rootProject = "_Root"
)

// collection is a paginated TeamCity list (Projects, BuildTypes).
type collection struct {
	Count     int      `json:"count"`
	NextHref  string   `json:"nextHref"`
	Project   []tcItem `json:"project"`
	BuildType []tcItem `json:"buildType"`
}

// tcItem is a project or build configuration of a list.
type tcItem struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	ParentProjectID string `json:"parentProjectId"`
	ProjectID       string `json:"projectId"`
	ProjectName     string `json:"projectName"`
	WebURL          string `json:"webUrl"`
}

// locator is the list locator of a page: count items from start, below
// the configured project when there is one.
func (c *Connector) locator(count, start int) string {
	l := "count:" + strconv.Itoa(count) + ",start:" + strconv.Itoa(start)
	if c.project != "" {
		l += ",affectedProject:(id:" + c.project + ")"
	}
	return l
}

// nextStart reads where the next page starts from a collection's nextHref
// (…?locator=count:100,start:200,…); -1 when there is none. A nextHref
// that does not move forward is an upstream error, not a loop.
func nextStart(nextHref string, start int) (int, error) {
	if nextHref == "" {
		return -1, nil
	}
	u, err := url.Parse(nextHref)
	if err == nil {
		for _, dim := range strings.Split(u.Query().Get("locator"), ",") {
			if v, ok := strings.CutPrefix(dim, "start:"); ok {
				if n, err := strconv.Atoi(v); err == nil && n > start {
					return n, nil
				}
			}
		}
	}
	return 0, resilience.New(resilience.UpstreamError, "TeamCity named a next page without a start beyond %d", start)
}

// Discover implements connectors.Discoverer: projects or build
// configurations, filled to the page size from TeamCity's pages.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	var path, what string
	switch q.ResourceType {
	case ResourceProjects:
		path, what = "/app/rest/projects", "list TeamCity projects"
	case ResourceBuildTypes:
		path, what = "/app/rest/buildTypes", "list TeamCity build configurations"
	default:
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
			"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourceProjects, ResourceBuildTypes)
	}
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cur, err := kit.DecodeCursor(q.Cursor, func(p kit.Position) bool {
		n, err := strconv.Atoi(p.Page)
		return p.Valid() && (p.Page == "" || (err == nil && n > 0 && strconv.Itoa(n) == p.Page))
	})
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	keep := func(r contracts.Resource) bool { return r.ID != rootProject && pattern.Match(r.Name, r.ID) }
	fetch := func(ctx context.Context, page string, _ int) ([]contracts.Resource, string, error) {
		start, _ := strconv.Atoi(page)
		var answer collection
		if err := c.call(ctx, what, request{method: http.MethodGet, path: path,
			query: url.Values{"locator": {c.locator(upstreamCount, start)}}}, &answer); err != nil {
			return nil, "", err
		}
		next, err := nextStart(answer.NextHref, start)
		if err != nil {
			return nil, "", err
		}
		out := make([]contracts.Resource, 0, len(answer.Project)+len(answer.BuildType))
		for _, p := range answer.Project {
			out = append(out, contracts.Resource{Type: ResourceProjects, Name: p.Name, ID: p.ID,
				Attributes: map[string]any{"parentProjectId": p.ParentProjectID, "webUrl": p.WebURL}})
		}
		for _, b := range answer.BuildType {
			out = append(out, contracts.Resource{Type: ResourceBuildTypes, Name: b.Name, ID: b.ID,
				Attributes: map[string]any{"projectId": b.ProjectID, "projectName": b.ProjectName, "webUrl": b.WebURL}})
		}
		if next < 0 {
			return out, "", nil
		}
		return out, strconv.Itoa(next), nil
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests, StopOnEmpty: true}
	items, next, err := kit.Collect(ctx, collector, cur, keep, fetch)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: items}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(*next)
	}
	return page, nil
}
