package gitea

import (
	"context"
	"strconv"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/scm/gitea/spec"
	"github.com/stella-ops/inthub/shared/connectors/scm/scmkit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// paging is how Gitea listings are read.
var paging = scmkit.Paging{
	DefaultSize: 100, MaxSize: 1000,
	// PerPage is Gitea's default MAX_RESPONSE_ITEMS (a larger limit is cut to
	// it); every page of a listing uses it so a page-number cursor stays
	// valid whatever page size a caller asks for.
	PerPage:     50,
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
			return c.refs(q.ResourceType, owner, repo), kind, nil
		default:
			return scmkit.Listing{}, kind, resilience.New(resilience.NotSupported, "resource type %q: provider %s discovers %s",
				q.ResourceType, ProviderID, strings.Join(decl.ResourceTypes, ", "))
		}
	})
}

// ownerKind asks Gitea whether the configured owner is an organization or
// a user; 404 on both is an owner Gitea does not know.
func (c *Connector) ownerKind(ctx context.Context) (string, error) {
	client, err := c.client(ctx)
	if err != nil {
		return "", err
	}
	_, _, err = client.GetOrg(c.owner)
	if err = kit.SDKError("look up organization "+c.owner, err); resilience.CodeOf(err) != resilience.ResourceNotFound {
		return scmkit.OwnerOrg, err
	}
	if _, _, err = client.GetUserInfo(c.owner); err != nil {
		return "", kit.SDKError("look up owner "+c.owner+" (no organization of that name)", err)
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
	if name == "" || owner == "" || !spec.OwnerName.MatchString(owner) || !spec.RepoName.MatchString(repo) || spec.CheckName(repo) != nil {
		return "", "", resilience.New(resilience.InvalidConfig,
			"filter.repository must name a Gitea repository: owner/name (or a name under the configured owner), got %q", name)
	}
	return owner, repo, nil
}

func listOptions(page, size int) sdk.ListOptions { return sdk.ListOptions{Page: page, PageSize: size} }

func (c *Connector) organizations() scmkit.Listing {
	return scmkit.Listing{Fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
		client, err := c.client(ctx)
		if err != nil {
			return nil, 0, err
		}
		orgs, resp, err := client.ListMyOrgs(sdk.ListOrgsOptions{ListOptions: listOptions(page, size)})
		if err != nil {
			return nil, 0, kit.SDKError("list the user's organizations", err)
		}
		out := make([]contracts.Resource, 0, len(orgs))
		for _, o := range orgs {
			out = append(out, contracts.Resource{Type: ResourceProjects, Name: o.Name, ID: strconv.FormatInt(o.ID, 10),
				Attributes: map[string]any{"fullName": o.FullName, "description": o.Description, "visibility": o.Visibility, "kind": "organization"}})
		}
		return out, resp.NextPage, nil
	}}
}

// repositories lists the configured owner's repositories (kind says which
// path; unknown: looked up first), else those the token's user can read.
// It returns the kind it listed.
func (c *Connector) repositories(ctx context.Context, kind string) (scmkit.Listing, string, error) {
	what := "list the repositories of " + c.owner
	var list func(client *sdk.Client, opts sdk.ListOptions) ([]*sdk.Repository, *sdk.Response, error)
	switch {
	case c.owner == "":
		what = "list the repositories the token's user can read"
		list = func(client *sdk.Client, opts sdk.ListOptions) ([]*sdk.Repository, *sdk.Response, error) {
			return client.ListMyRepos(sdk.ListReposOptions{ListOptions: opts})
		}
	case kind == scmkit.OwnerOrg:
		list = func(client *sdk.Client, opts sdk.ListOptions) ([]*sdk.Repository, *sdk.Response, error) {
			return client.ListOrgRepos(c.owner, sdk.ListOrgReposOptions{ListOptions: opts})
		}
	case kind == scmkit.OwnerUser:
		list = func(client *sdk.Client, opts sdk.ListOptions) ([]*sdk.Repository, *sdk.Response, error) {
			return client.ListUserRepos(c.owner, sdk.ListReposOptions{ListOptions: opts})
		}
	default:
		var err error
		if kind, err = c.ownerKind(ctx); err != nil {
			return scmkit.Listing{}, "", err
		}
		return c.repositories(ctx, kind)
	}
	return scmkit.Listing{MatchPath: true, Fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
		client, err := c.client(ctx)
		if err != nil {
			return nil, 0, err
		}
		repos, resp, err := list(client, listOptions(page, size))
		if err != nil {
			return nil, 0, kit.SDKError(what, err)
		}
		out := make([]contracts.Resource, 0, len(repos))
		for _, r := range repos {
			owner := ""
			if r.Owner != nil {
				owner = r.Owner.UserName
			}
			out = append(out, contracts.Resource{Type: ResourceRepositories, Name: r.FullName, ID: strconv.FormatInt(r.ID, 10),
				Attributes: map[string]any{
					"owner": owner, "defaultBranch": r.DefaultBranch, "private": r.Private, "empty": r.Empty, "mirror": r.Mirror,
					"archived": r.Archived, "htmlUrl": r.HTMLURL, "cloneUrl": r.CloneURL, "sshUrl": r.SSHURL,
					"updatedAt": r.Updated.UTC().Format("2006-01-02T15:04:05Z07:00"),
				}})
		}
		return out, resp.NextPage, nil
	}}, kind, nil
}

// refs lists the branches or tags of owner/repo.
func (c *Connector) refs(resourceType, owner, repo string) scmkit.Listing {
	full := owner + "/" + repo
	return scmkit.Listing{Fetch: func(ctx context.Context, page, size int) ([]contracts.Resource, int, error) {
		client, err := c.client(ctx)
		if err != nil {
			return nil, 0, err
		}
		var out []contracts.Resource
		var resp *sdk.Response
		if resourceType == ResourceBranches {
			var branches []*sdk.Branch
			if branches, resp, err = client.ListRepoBranches(owner, repo, sdk.ListRepoBranchesOptions{ListOptions: listOptions(page, size)}); err != nil {
				return nil, 0, kit.SDKError("list the branches of "+full, err)
			}
			for _, b := range branches {
				sha := ""
				if b.Commit != nil {
					sha = b.Commit.ID
				}
				out = append(out, contracts.Resource{Type: ResourceBranches, Name: b.Name, ID: full + ":" + b.Name,
					Attributes: map[string]any{"repository": full, "sha": sha, "protected": b.Protected}})
			}
			return out, resp.NextPage, nil
		}
		var tags []*sdk.Tag
		if tags, resp, err = client.ListRepoTags(owner, repo, sdk.ListRepoTagsOptions{ListOptions: listOptions(page, size)}); err != nil {
			return nil, 0, kit.SDKError("list the tags of "+full, err)
		}
		for _, t := range tags {
			sha := ""
			if t.Commit != nil {
				sha = t.Commit.SHA
			}
			out = append(out, contracts.Resource{Type: ResourceTags, Name: t.Name, ID: full + ":" + t.Name,
				Attributes: map[string]any{"repository": full, "sha": sha}})
		}
		return out, resp.NextPage, nil
	}}
}
