// Package gitlab is the GitLab provider (GitLab.com and self-managed GitLab,
// REST API v4) in two roles that share one client:
//
//   - "gitlab" (alias "gitlabserver", category scm): health checks and
//     discovery of projects and repositories;
//   - "gitlab-ci" (category cicd, the GitLabCIConfig shape): health checks,
//     discovery of a project's pipelines and jobs, and pipeline triggers.
//
// Authentication is a personal, project, group or OAuth2 access token sent
// as PRIVATE-TOKEN (tokenType "private-token", the default) or as
// "Authorization: Bearer" (tokenType "bearer"; OAuth2 tokens need it, the
// other token kinds accept it too).
//
// Resources:
//
//   - projects: GET /api/v4/projects?membership=true&simple=true with keyset
//     pagination (order_by=id, Link rel="next"); name path_with_namespace,
//     id the numeric project id.
//   - repositories: the same listing seen as Git repositories (GitLab has
//     one repository per project): name path_with_namespace, attributes
//     defaultBranch (empty for an empty repository), httpUrl, sshUrl, webUrl.
//   - pipelines: GET /api/v4/projects/:id/pipelines, newest first, offset
//     pagination (Link rel="next", else X-Next-Page); name the pipeline's ref,
//     id the pipeline id.
//   - jobs: GET /api/v4/projects/:id/jobs, newest first; name the job name.
//
// Pipelines and jobs belong to the integration's projectId unless
// filter.repository names another project (numeric id or group/project
// path). namePattern is a path.Match glob on the name; a pattern without a
// '/' also matches the last path segment ("api-*" finds "team/api-gateway").
//
// It is hand-written over httpx rather than built on gitlab.com/gitlab-org/api/client-go:
// it needs six endpoints, each call must resolve its token itself and carry
// the hub's error codes, and the SDK's retry and pagination helpers would
// take decisions (sleeping on 429, following every page) that belong to the
// hub's retry table and to the discovery cursor.
package gitlab

import "github.com/stella-ops/inthub/shared/connectors/scm/gitlab/spec"

// decl and ciDecl are the providers' declarations (package spec); the
// factories read the config through them.
var (
	decl   = spec.Spec
	ciDecl = spec.CISpec
)

// Spec and CISpec are the declarations with their factories.
var (
	Spec   = decl.WithFactory(NewSCM)
	CISpec = ciDecl.WithFactory(NewCI)
)

// Names of the declarations this package uses.
const (
	ProviderID           = spec.ProviderID
	CIProviderID         = spec.CIProviderID
	ResourceProjects     = spec.ResourceProjects
	ResourceRepositories = spec.ResourceRepositories
	ResourcePipelines    = spec.ResourcePipelines
	ResourceJobs         = spec.ResourceJobs
	TokenPrivate         = spec.TokenPrivate
	TokenBearer          = spec.TokenBearer
	maxProjectLength     = spec.MaxProjectLength
)

// projectPathPattern is the declaration's project id or path grammar.
var projectPathPattern = spec.ProjectPath
