package github

import (
	"context"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v75/github"

	actions "github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/spec"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// perPage is GitHub's maximum; every page of a listing uses it so a
	// page-number cursor stays valid whatever page size a caller asks for.
	perPage = 100
	// maxListRequests bounds the GitHub pages one Discover call reads while
	// a name filter leaves its page short; the cursor continues from there.
	maxListRequests = 10
)

// The kinds of owner GitHub lists repositories of under different paths.
const (
	ownerUnknown = ""
	ownerOrg     = "org"
	ownerUser    = "user"
)

// cursor is where a listing continues (the GitHub page, as a number, and
// how many of its items an earlier Discover returned) and the kind of the
// owner whose repositories these are, so later pages skip the lookup.
type cursor struct {
	kit.Position
	Kind string `json:"k,omitempty"`
}

func (c cursor) valid() bool {
	return kit.ValidPageNumber(c.Position) && (c.Kind == ownerUnknown || c.Kind == ownerOrg || c.Kind == ownerUser)
}

// listing is one paginated GitHub listing: fetch reads page (1-based) of
// size items and returns them and the next page (0 at the end).
type listing struct {
	fetch func(ctx context.Context, page, size int) ([]contracts.Resource, int, error)
	// matchPath matches the pattern on the path's last segment too
	// (repositories: "api-*" finds "acme/api-gateway").
	matchPath bool
}

// Discover implements connectors.Discoverer.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cur, err := kit.DecodeCursor(q.Cursor, cursor.valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	var l listing
	switch q.ResourceType {
	case ResourceProjects:
		l = c.organizations()
	case ResourceRepositories:
		// The first page looks the owner's kind up; the cursor keeps it.
		l, cur.Kind, err = c.repositories(ctx, cur.Kind)
	case ResourceBranches, ResourceTags:
		owner, repo, perr := c.repository(q.Filter.Repository)
		if perr != nil {
			return connectors.DiscoveryPage{}, perr
		}
		if q.ResourceType == ResourceBranches {
			l = c.branches(owner, repo)
		} else {
			l = c.tags(owner, repo)
		}
	default:
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported, "resource type %q: provider %s discovers %s",
			q.ResourceType, ProviderID, strings.Join(decl.ResourceTypes, ", "))
	}
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	keep := func(r contracts.Resource) bool {
		if l.matchPath {
			return pattern.MatchPath(r.Name)
		}
		return pattern.Match(r.Name)
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, defaultPageSize, maxPageSize), MaxRequests: maxListRequests, StopOnEmpty: true}
	items, next, err := kit.Collect(ctx, collector, cur.Position, keep,
		kit.NumberedPages(func(ctx context.Context, page int) ([]contracts.Resource, int, error) {
			return l.fetch(ctx, page, perPage)
		}))
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: items}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(cursor{Position: *next, Kind: cur.Kind})
	}
	return page, nil
}

// ownerKind asks GitHub whether the configured owner is an organization or
// a user; 404 is an owner GitHub does not know.
func (c *Connector) ownerKind(ctx context.Context) (string, error) {
	account, _, err := c.api.Users.Get(ctx, c.owner)
	if err != nil {
		return "", c.sdkError("look up owner "+c.owner, err)
	}
	if account.GetType() == "Organization" {
		return ownerOrg, nil
	}
	return ownerUser, nil
}

// repository reads filter.repository: owner/name, or a name under the
// configured owner.
func (c *Connector) repository(name string) (string, string, error) {
	owner, repo, ok := strings.Cut(name, "/")
	if !ok {
		owner, repo = c.owner, name
	}
	if name == "" || owner == "" || !actions.OwnerName.MatchString(owner) || !actions.RepoName.MatchString(repo) || actions.CheckRepo(repo) != nil {
		return "", "", resilience.New(resilience.InvalidConfig,
			"filter.repository must name a GitHub repository: owner/name (or a name under the configured owner), got %q", name)
	}
	return owner, repo, nil
}

func listOptions(page, size int) gh.ListOptions { return gh.ListOptions{Page: page, PerPage: size} }

func (c *Connector) organizations() listing {
	return listing{fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
		opts := listOptions(page, size)
		orgs, resp, err := c.api.Organizations.List(ctx, "", &opts)
		if err != nil {
			return nil, 0, c.sdkError("list the user's organizations", err)
		}
		out := make([]contracts.Resource, 0, len(orgs))
		for _, o := range orgs {
			out = append(out, contracts.Resource{Type: ResourceProjects, Name: o.GetLogin(), ID: strconv.FormatInt(o.GetID(), 10),
				Attributes: map[string]any{"description": o.GetDescription(), "kind": "organization"}})
		}
		return out, resp.NextPage, nil
	}}
}

// repositories lists the configured owner's repositories (kind says which
// path; unknown: looked up first), else those the token can read. It
// returns the kind it listed.
func (c *Connector) repositories(ctx context.Context, kind string) (listing, string, error) {
	what := "list the repositories of " + c.owner
	var list func(ctx context.Context, opts gh.ListOptions) ([]*gh.Repository, *gh.Response, error)
	switch {
	case c.owner == "":
		what = "list the repositories the token can read"
		list = func(ctx context.Context, opts gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
			return c.api.Repositories.ListByAuthenticatedUser(ctx, &gh.RepositoryListByAuthenticatedUserOptions{
				Sort: "full_name", Direction: "asc", ListOptions: opts})
		}
	case kind == ownerOrg:
		list = func(ctx context.Context, opts gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
			return c.api.Repositories.ListByOrg(ctx, c.owner, &gh.RepositoryListByOrgOptions{
				Type: "all", Sort: "full_name", Direction: "asc", ListOptions: opts})
		}
	case kind == ownerUser:
		list = func(ctx context.Context, opts gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
			return c.api.Repositories.ListByUser(ctx, c.owner, &gh.RepositoryListByUserOptions{
				Type: "owner", Sort: "full_name", Direction: "asc", ListOptions: opts})
		}
	default:
		var err error
		if kind, err = c.ownerKind(ctx); err != nil {
			return listing{}, "", err
		}
		return c.repositories(ctx, kind)
	}
	return listing{matchPath: true, fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
		repos, resp, err := list(ctx, listOptions(page, size))
		if err != nil {
			return nil, 0, c.sdkError(what, err)
		}
		out := make([]contracts.Resource, 0, len(repos))
		for _, r := range repos {
			out = append(out, contracts.Resource{Type: ResourceRepositories, Name: r.GetFullName(), ID: strconv.FormatInt(r.GetID(), 10),
				Attributes: map[string]any{
					"owner": r.GetOwner().GetLogin(), "defaultBranch": r.GetDefaultBranch(), "private": r.GetPrivate(),
					"visibility": r.GetVisibility(), "archived": r.GetArchived(), "htmlUrl": r.GetHTMLURL(),
					"cloneUrl": r.GetCloneURL(), "sshUrl": r.GetSSHURL(), "pushedAt": r.GetPushedAt().Format("2006-01-02T15:04:05Z07:00"),
				}})
		}
		return out, resp.NextPage, nil
	}}, kind, nil
}

func (c *Connector) branches(owner, repo string) listing {
	what := "list the branches of " + owner + "/" + repo
	return listing{fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
		branches, resp, err := c.api.Repositories.ListBranches(ctx, owner, repo, &gh.BranchListOptions{ListOptions: listOptions(page, size)})
		if err != nil {
			return nil, 0, c.sdkError(what, err)
		}
		out := make([]contracts.Resource, 0, len(branches))
		for _, b := range branches {
			out = append(out, contracts.Resource{Type: ResourceBranches, Name: b.GetName(), ID: owner + "/" + repo + ":" + b.GetName(),
				Attributes: map[string]any{"repository": owner + "/" + repo, "sha": b.GetCommit().GetSHA(), "protected": b.GetProtected()}})
		}
		return out, resp.NextPage, nil
	}}
}

func (c *Connector) tags(owner, repo string) listing {
	what := "list the tags of " + owner + "/" + repo
	return listing{fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
		opts := listOptions(page, size)
		tags, resp, err := c.api.Repositories.ListTags(ctx, owner, repo, &opts)
		if err != nil {
			return nil, 0, c.sdkError(what, err)
		}
		out := make([]contracts.Resource, 0, len(tags))
		for _, t := range tags {
			out = append(out, contracts.Resource{Type: ResourceTags, Name: t.GetName(), ID: owner + "/" + repo + ":" + t.GetName(),
				Attributes: map[string]any{"repository": owner + "/" + repo, "sha": t.GetCommit().GetSHA()}})
		}
		return out, resp.NextPage, nil
	}}
}
