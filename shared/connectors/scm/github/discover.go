package github

import (
	"context"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v75/github"

	actions "github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/spec"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/scm/scmkit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// paging is how GitHub listings are read.
var paging = scmkit.Paging{
	DefaultSize: 100, MaxSize: 1000,
	// PerPage is GitHub's maximum; every page of a listing uses it so a
	// page-number cursor stays valid whatever page size a caller asks for.
	PerPage:     100,
	MaxRequests: 10,
}

// Discover implements connectors.Discoverer.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	return scmkit.Discover(ctx, q, paging, func(ctx context.Context, kind string) (scmkit.Listing, string, error) {
		switch q.ResourceType {
		case ResourceProjects:
			return c.organizations(), kind, nil
		case ResourceRepositories:
			// The first page looks the owner's kind up; the cursor keeps it.
			return c.repositories(ctx, kind)
		case ResourceBranches, ResourceTags:
			owner, repo, err := c.repository(q.Filter.Repository)
			if err != nil {
				return scmkit.Listing{}, kind, err
			}
			if q.ResourceType == ResourceBranches {
				return c.branches(owner, repo), kind, nil
			}
			return c.tags(owner, repo), kind, nil
		default:
			return scmkit.Listing{}, kind, resilience.New(resilience.NotSupported, "resource type %q: provider %s discovers %s",
				q.ResourceType, ProviderID, strings.Join(decl.ResourceTypes, ", "))
		}
	})
}

// ownerKind asks GitHub whether the configured owner is an organization or
// a user; 404 is an owner GitHub does not know.
func (c *Connector) ownerKind(ctx context.Context) (string, error) {
	account, _, err := c.api.Users.Get(ctx, c.owner)
	if err != nil {
		return "", c.sdkError("look up owner "+c.owner, err)
	}
	if account.GetType() == "Organization" {
		return scmkit.OwnerOrg, nil
	}
	return scmkit.OwnerUser, nil
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

func (c *Connector) organizations() scmkit.Listing {
	return scmkit.Listing{Fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
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
func (c *Connector) repositories(ctx context.Context, kind string) (scmkit.Listing, string, error) {
	what := "list the repositories of " + c.owner
	var list func(ctx context.Context, opts gh.ListOptions) ([]*gh.Repository, *gh.Response, error)
	switch {
	case c.owner == "":
		what = "list the repositories the token can read"
		list = func(ctx context.Context, opts gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
			return c.api.Repositories.ListByAuthenticatedUser(ctx, &gh.RepositoryListByAuthenticatedUserOptions{
				Sort: "full_name", Direction: "asc", ListOptions: opts})
		}
	case kind == scmkit.OwnerOrg:
		list = func(ctx context.Context, opts gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
			return c.api.Repositories.ListByOrg(ctx, c.owner, &gh.RepositoryListByOrgOptions{
				Type: "all", Sort: "full_name", Direction: "asc", ListOptions: opts})
		}
	case kind == scmkit.OwnerUser:
		list = func(ctx context.Context, opts gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
			return c.api.Repositories.ListByUser(ctx, c.owner, &gh.RepositoryListByUserOptions{
				Type: "owner", Sort: "full_name", Direction: "asc", ListOptions: opts})
		}
	default:
		var err error
		if kind, err = c.ownerKind(ctx); err != nil {
			return scmkit.Listing{}, "", err
		}
		return c.repositories(ctx, kind)
	}
	return scmkit.Listing{MatchPath: true, Fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
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

func (c *Connector) branches(owner, repo string) scmkit.Listing {
	what := "list the branches of " + owner + "/" + repo
	return scmkit.Listing{Fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
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

func (c *Connector) tags(owner, repo string) scmkit.Listing {
	what := "list the tags of " + owner + "/" + repo
	return scmkit.Listing{Fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
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
