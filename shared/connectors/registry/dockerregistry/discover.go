package dockerregistry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 100
	// maxPageSize is the distribution registry's default catalog limit; a
	// larger n is refused with PAGINATION_NUMBER_INVALID.
	maxPageSize = 1000
	// maxListRequests bounds the registry pages one Discover call reads while
	// a name filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

var (
	tagName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

func validRepository(name string) bool {
	return len(name) <= maxRepositoryLength && repositoryName.MatchString(name)
}

// listing is a paginated list endpoint: the catalog or one repository's tags.
type listing struct {
	what  string // for errors: "list repositories"
	path  string
	scope string
	repo  string // tags only
}

func catalog() listing {
	return listing{what: "list repositories", path: "/v2/_catalog", scope: "registry:catalog:*"}
}

func tags(repo string) listing {
	return listing{what: "list tags of " + repo, path: "/v2/" + repo + "/tags/list", scope: "repository:" + repo + ":pull", repo: repo}
}

// Discover implements connectors.Discoverer: one page of repositories or of
// a repository's tags. The cursor carries the registry's own Link query.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	l, err := c.listingOf(q)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	start, err := kit.DecodeCursor(q.Cursor, kit.Position.Valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cred, err := c.credential(ctx)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests}
	names, next, err := kit.Collect(ctx, collector, start, pattern.MatchPath,
		func(ctx context.Context, page string, want int) ([]string, string, error) {
			query, err := kit.Position{Page: page}.Query()
			if err != nil {
				return nil, "", err
			}
			query.Set("n", strconv.Itoa(want))
			return c.listPage(ctx, cred, l, query)
		})
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: make([]contracts.Resource, 0, len(names))}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(*next)
	}
	for _, name := range names {
		page.Items = append(page.Items, resource(q.ResourceType, l.repo, name))
	}
	if l.repo != "" && c.resolveDigests {
		if err := c.addDigests(ctx, cred, l.repo, page.Items); err != nil {
			return connectors.DiscoveryPage{}, err
		}
	}
	return page, nil
}

// listingOf picks the endpoint of a query's resource type; tags take the
// filter's repository, else the integration's default one.
func (c *Connector) listingOf(q connectors.DiscoveryQuery) (listing, error) {
	switch q.ResourceType {
	case ResourceRepositories:
		return catalog(), nil
	case ResourceTags:
		repo := q.Filter.Repository
		if repo == "" {
			repo = c.repository
		}
		switch {
		case repo == "":
			return listing{}, resilience.New(resilience.InvalidConfig,
				"tags discovery needs filter.repository (or the integration's repository field)")
		case !validRepository(repo):
			return listing{}, resilience.New(resilience.InvalidConfig,
				"filter.repository is not a repository name (lowercase path components like myorg/myapp)")
		}
		return tags(repo), nil
	}
	return listing{}, resilience.New(resilience.NotSupported,
		"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourceRepositories, ResourceTags)
}

// resource renders a discovered name; a tag's id is its reference repo:tag.
func resource(typ, repo, name string) contracts.Resource {
	if repo == "" {
		return contracts.Resource{Type: typ, Name: name, ID: name}
	}
	return contracts.Resource{Type: typ, Name: name, ID: repo + ":" + name, Attributes: map[string]any{"repository": repo}}
}

// listAnswer is the body of /v2/_catalog and /v2/<name>/tags/list.
type listAnswer struct {
	Repositories []string `json:"repositories"`
	Tags         []string `json:"tags"`
}

// listPage reads one page and returns its names and the next page: the
// Link rel="next" query without n (each request sets its own page size),
// "" on the last page.
func (c *Connector) listPage(ctx context.Context, cred credential, l listing, query url.Values) ([]string, string, error) {
	resp, err := c.send(ctx, cred, request{method: http.MethodGet, url: c.endpoint(l.path, query), scope: l.scope})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", l.what, err)
	}
	defer kit.Drain(resp)
	if err := c.hc.Check(resp); err != nil {
		return nil, "", fmt.Errorf("%s: %w", l.what, err)
	}
	var answer listAnswer
	if err := kit.DecodeJSON(resp.Body, 0, &answer); err != nil {
		return nil, "", fmt.Errorf("%s: %w", l.what, err)
	}
	names := answer.Repositories
	if l.repo != "" {
		names = answer.Tags
	}
	next, err := kit.NextQuery(resp.Header)
	if err != nil || next == nil {
		return names, "", err
	}
	return names, nextPage(next), nil
}

// nextPage renders a next-page query as a position's page: without n, and
// never empty, since a registry may paginate by n alone.
func nextPage(next url.Values) string {
	next.Del("n")
	if s := next.Encode(); s != "" {
		return s
	}
	return "n="
}
