// Package gitea is the Gitea SCM provider (Gitea 1.11 and later, REST API
// v1), built on the Gitea SDK (code.gitea.io/sdk/gitea)
// over the hub's guarded client: health checks and discovery of the
// organizations, repositories, branches and tags a token can read.
//
// Authentication is an access token sent as "Authorization: token <t>",
// resolved per request and never kept (the SDK is given no token; the
// transport adds it).
//
// Resources:
//
//   - projects: the organizations of the token's user (GET
//     /api/v1/user/orgs): name the organization's name, id its numeric id.
//   - repositories: the repositories of the configured owner (GET
//     /api/v1/orgs/{org}/repos for an organization, /users/{user}/repos for
//     a user; GET /orgs/{owner}, then /users/{owner}, tells which, 404 on
//     both is an unknown owner), else every repository the token's user can
//     read (GET /api/v1/user/repos): name owner/name, attributes
//     defaultBranch, private, empty, mirror, archived, htmlUrl, cloneUrl,
//     sshUrl, updatedAt.
//   - branches and tags: of the repository filter.repository names
//     (owner/name, or a name under the configured owner): GET
//     /api/v1/repos/{owner}/{repo}/branches and /tags, attribute sha (and
//     protected for a branch).
//
// Listings page with page and limit=50 (Gitea's default MAX_RESPONSE_ITEMS:
// a larger limit is cut to it) and follow the page Gitea's Link rel="next"
// names (the SDK's Response.NextPage) to the end; namePattern is a
// path.Match glob on the name (a repository's also matches its name
// without the owner).
//
// The SDK reads the server's version (GET /api/v1/version) before its
// first call, to refuse servers older than 1.11; the connector reads it
// once and hands it to each later client. Because the SDK keeps one
// context per client, each call builds a client of its own around the
// shared guarded one, which costs nothing.
//
// Errors: every answer is classified before the SDK sees it (401
// AUTHENTICATION_FAILED, 403 PERMISSION_DENIED, 404 RESOURCE_NOT_FOUND, 429
// or 503 with Retry-After RATE_LIMITED with the wait), because the SDK
// reduces an error answer to its message. Gitea itself has no API rate
// limit; the proxy in front of it may have one.
package gitea

import "github.com/stella-ops/inthub/shared/connectors/scm/gitea/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID           = spec.ProviderID
	ResourceProjects     = spec.ResourceProjects
	ResourceRepositories = spec.ResourceRepositories
	ResourceBranches     = spec.ResourceBranches
	ResourceTags         = spec.ResourceTags
)
