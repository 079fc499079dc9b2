package drone

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
	// perPage is Drone's largest build page; every page of a listing uses
	// it so a page-number cursor stays valid whatever page size a caller
	// asks for.
	perPage = 100
	// maxListRequests bounds the Drone pages one Discover call reads while
	// a name filter leaves its page short; the cursor continues.
	maxListRequests = 10
)

// droneRepo is the part of a repository the connector reads.
type droneRepo struct {
	Namespace     string `json:"namespace"`
	Name          string `json:"name"`
	Slug          string `json:"slug"`
	DefaultBranch string `json:"default_branch"`
	Visibility    string `json:"visibility"`
	Active        bool   `json:"active"`
	Link          string `json:"link"`
}

// offsetCursor is the offset of the next page in the repository list.
type offsetCursor struct {
	Offset int `json:"o"`
}

// Discover implements connectors.Discoverer: repositories, or the builds
// of one.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	size := kit.PageSize(q.PageSize, defaultPageSize, maxPageSize)
	switch q.ResourceType {
	case ResourceRepositories:
		return c.repositories(ctx, q.Cursor, size, pattern)
	case ResourceBuilds:
		return c.builds(ctx, q, size, pattern)
	}
	return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
		"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourceRepositories, ResourceBuilds)
}

// repositories lists /api/user/repos (one answer: Drone does not page it)
// and pages it by offset.
func (c *Connector) repositories(ctx context.Context, cursor string, size int, pattern kit.Pattern) (connectors.DiscoveryPage, error) {
	cur, err := kit.DecodeCursor(cursor, func(c offsetCursor) bool { return c.Offset > 0 })
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	var repos []droneRepo
	if err := c.call(ctx, "list Drone repositories", request{method: http.MethodGet, path: "/api/user/repos"}, &repos); err != nil {
		return connectors.DiscoveryPage{}, err
	}
	var matched []droneRepo
	for _, r := range repos {
		if r.Slug == "" {
			r.Slug = r.Namespace + "/" + r.Name
		}
		if (c.namespace == "" || r.Namespace == c.namespace) && pattern.MatchPath(r.Slug) {
			matched = append(matched, r)
		}
	}
	start, end, next := kit.Window(len(matched), cur.Offset, size)
	page := connectors.DiscoveryPage{Items: []contracts.Resource{}}
	for _, r := range matched[start:end] {
		page.Items = append(page.Items, contracts.Resource{Type: ResourceRepositories, Name: r.Slug, ID: r.Slug, Attributes: map[string]any{
			"active": r.Active, "defaultBranch": r.DefaultBranch, "visibility": r.Visibility, "link": r.Link,
		}})
	}
	if next > 0 {
		page.NextCursor = kit.EncodeCursor(offsetCursor{Offset: next})
	}
	return page, nil
}

// buildCursor is where a build listing continues: Drone's page and the
// builds of it already returned, and the repository, so a cursor is not
// replayed against another.
type buildCursor struct {
	kit.Position
	Repo string `json:"r"`
}

// builds lists the build history of the repository filter.repository
// names, with Drone's page and per_page.
func (c *Connector) builds(ctx context.Context, q connectors.DiscoveryQuery, size int, pattern kit.Pattern) (connectors.DiscoveryPage, error) {
	slug := q.Filter.Repository
	path, err := repoPath(slug)
	if err != nil {
		return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "discovering builds needs filter.repository naming a repository (owner/name)")
	}
	cur, err := kit.DecodeCursor(q.Cursor, func(c buildCursor) bool {
		n, err := strconv.Atoi(c.Page)
		return c.Position.Valid() && c.Repo == slug && (c.Page == "" || (err == nil && n > 1 && strconv.Itoa(n) == c.Page))
	})
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	keep := func(r contracts.Resource) bool {
		branch, _ := r.Attributes["branch"].(string)
		return pattern.Match(r.Name) || (branch != "" && pattern.Match(branch))
	}
	fetch := func(ctx context.Context, page string, _ int) ([]contracts.Resource, string, error) {
		n := 1
		if page != "" {
			n, _ = strconv.Atoi(page)
		}
		var answer []struct {
			Number  int64  `json:"number"`
			Status  string `json:"status"`
			Event   string `json:"event"`
			Ref     string `json:"ref"`
			Target  string `json:"target"`
			After   string `json:"after"`
			Message string `json:"message"`
		}
		if err := c.call(ctx, "list the builds of "+slug, request{method: http.MethodGet, path: path + "/builds",
			query: url.Values{"page": {strconv.Itoa(n)}, "per_page": {strconv.Itoa(perPage)}}}, &answer); err != nil {
			return nil, "", err
		}
		out := make([]contracts.Resource, 0, len(answer))
		for _, b := range answer {
			num := strconv.FormatInt(b.Number, 10)
			out = append(out, contracts.Resource{Type: ResourceBuilds, Name: num, ID: num, Attributes: map[string]any{
				"repository": slug, "status": b.Status, "event": b.Event, "ref": b.Ref, "branch": strings.TrimPrefix(b.Ref, "refs/heads/"),
				"commit": b.After, "message": b.Message, "link": c.buildURL(slug, b.Number),
			}})
		}
		if len(answer) < perPage {
			return out, "", nil
		}
		return out, strconv.Itoa(n + 1), nil
	}
	collector := kit.Collector{Size: size, MaxRequests: maxListRequests, StopOnEmpty: true}
	items, next, err := kit.Collect(ctx, collector, cur.Position, keep, fetch)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: items}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(buildCursor{Position: *next, Repo: slug})
	}
	return page, nil
}

// buildURL is the build's page in Drone's web UI.
func (c *Connector) buildURL(slug string, number int64) string {
	owner, name, _ := strings.Cut(slug, "/")
	return kit.Endpoint(c.base, kit.Segments(owner, name, strconv.FormatInt(number, 10)), nil)
}
