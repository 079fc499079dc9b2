// Package github is the GitHub SCM provider (github.com and GitHub
// Enterprise Server, REST API version 2022-11-28), built on go-github over
// the hub's guarded client: health checks and discovery of the
// organizations, repositories, branches and tags a token can read.
//
// Every request carries go-github's headers (User-Agent, Accept
// application/vnd.github.v3+json, X-GitHub-Api-Version: 2022-11-28) and
// Authorization: Bearer <token> (a classic or fine-grained personal access
// token, an OAuth token, a GitHub App installation token), resolved per
// request and never kept.
//
// Resources:
//
//   - projects: the organizations the token's user belongs to (GET
//     /user/orgs): name the login, id the numeric id.
//   - repositories: the repositories of the configured owner (GET
//     /orgs/{org}/repos for an organization, /users/{user}/repos for a
//     user; GET /users/{owner} tells which, 404 is an unknown owner), else
//     every repository the token can read (GET /user/repos): name
//     owner/name, attributes defaultBranch, private, visibility, archived,
//     htmlUrl, cloneUrl, sshUrl, pushedAt.
//   - branches and tags: of the repository filter.repository names
//     (owner/name, or a name under the configured owner): GET
//     /repos/{owner}/{repo}/branches and /tags, attribute sha (and
//     protected for a branch).
//
// Listings page with per_page=100 and the page GitHub's Link rel="next"
// names (go-github's Response.NextPage) to the end; namePattern is a
// path.Match glob on the name (a repository's also matches its name
// without the owner).
//
// Errors: the answer of every request is classified by githubapi.Check
// before go-github sees it (401 AUTHENTICATION_FAILED, 404
// RESOURCE_NOT_FOUND, primary and secondary rate limits RATE_LIMITED with
// their wait), because go-github's error types lose the hub's codes.
// go-github's own guard against calling while a known limit lasts is
// RATE_LIMITED until the reset it read. Neither sleeps: waiting is the
// hub's retry table's decision.
package github

import "github.com/stella-ops/inthub/shared/connectors/scm/github/spec"

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
