package dockerregistry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 100
	// maxPageSize is the distribution registry's default catalog limit; a
	// larger n is refused with PAGINATION_NUMBER_INVALID.
	maxPageSize = 1000
	// maxListRequests bounds the registry pages one Discover call reads while
	// a name filter leaves its page short; the cursor continues from there.
	maxListRequests  = 10
	maxPatternLength = 512
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
	if err := checkPattern(q.Filter.NamePattern); err != nil {
		return connectors.DiscoveryPage{}, err
	}
	l, err := c.listingOf(q)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	query, err := decodeCursor(q.Cursor)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cred, err := c.credential(ctx)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	names, next, err := c.collect(ctx, cred, l, query, pageSize(q.PageSize), q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: make([]contracts.Resource, 0, len(names)), NextCursor: next}
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

// collect reads registry pages from query until size names match, the list
// ends, or maxListRequests pages were read; it returns the matches and the
// cursor of the rest.
func (c *Connector) collect(ctx context.Context, cred credential, l listing, query url.Values, size int, pattern string) ([]string, string, error) {
	var matched []string
	for n := 1; ; n++ {
		query.Set("n", strconv.Itoa(size-len(matched)))
		names, next, err := c.listPage(ctx, cred, l, query)
		if err != nil {
			return nil, "", err
		}
		for _, name := range names {
			if matches(pattern, name) {
				matched = append(matched, name)
			}
		}
		switch {
		case next == nil:
			return matched, "", nil
		case len(matched) >= size || n >= maxListRequests:
			return matched, encodeCursor(next), nil
		}
		query = next
	}
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

// listPage reads one page and returns its names and the query of the next
// page (nil on the last).
func (c *Connector) listPage(ctx context.Context, cred credential, l listing, query url.Values) ([]string, url.Values, error) {
	resp, err := c.send(ctx, cred, request{method: http.MethodGet, url: c.endpoint(l.path, query), scope: l.scope})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", l.what, err)
	}
	defer drain(resp)
	if err := httpx.CheckResponse(resp, c.now()); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", l.what, err)
	}
	var answer listAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&answer); err != nil {
		return nil, nil, resilience.Wrap(resilience.UpstreamError, err, "%s: the answer is not the registry's JSON", l.what)
	}
	names := answer.Repositories
	if l.repo != "" {
		names = answer.Tags
	}
	return names, nextQuery(resp.Header), nil
}

func pageSize(hint int) int {
	switch {
	case hint <= 0:
		return defaultPageSize
	case hint > maxPageSize:
		return maxPageSize
	}
	return hint
}

// checkPattern refuses a malformed or oversized glob up front, so a bad
// filter fails the call rather than silently matching nothing.
func checkPattern(pattern string) error {
	if len(pattern) > maxPatternLength {
		return resilience.New(resilience.InvalidConfig, "filter.namePattern is longer than %d characters", maxPatternLength)
	}
	if _, err := path.Match(pattern, ""); errors.Is(err, path.ErrBadPattern) {
		return resilience.New(resilience.InvalidConfig, "filter.namePattern is not a valid glob (path.Match syntax)")
	}
	return nil
}

// matches applies a checked glob; "" matches everything.
func matches(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, name)
	return ok
}
