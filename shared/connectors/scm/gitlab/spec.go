// Package gitlab is the GitLab provider (GitLab.com and self-managed GitLab,
// REST API v4) in two roles that share one client:
//
//   - "gitlab" (alias "gitlabserver", category scm): health checks and
//     discovery of projects and repositories;
//   - "gitlab-ci" (category cicd, the spec's GitLabCIConfig): health checks,
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

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// The provider ids: the SCM role and the spec's CI/CD type id.
const (
	ProviderID   = "gitlab"
	CIProviderID = "gitlab-ci"
)

// The discoverable resource types.
const (
	ResourceProjects     = "projects"
	ResourceRepositories = "repositories"
	ResourcePipelines    = "pipelines"
	ResourceJobs         = "jobs"
)

// Token types: which header carries the token.
const (
	TokenPrivate = "private-token"
	TokenBearer  = "bearer"
)

// maxProjectLength bounds a project id or path.
const maxProjectLength = 255

func urlField() connectors.Field {
	return connectors.Field{Name: "url", Type: connectors.TypeURL, Required: true,
		Description: "GitLab base URL, e.g. https://gitlab.example.com (the API is under /api/v4)."}
}

func tokenTypeField() connectors.Field {
	return connectors.Field{Name: "tokenType", Type: connectors.TypeEnum, Enum: []string{TokenPrivate, TokenBearer}, Default: TokenPrivate,
		Description: "How the token is sent: PRIVATE-TOKEN header (personal, project, group tokens) or Authorization: Bearer (OAuth2 tokens; the others accept it too)."}
}

// Spec declares the SCM provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "GitLab",
	Description: "GitLab.com and self-managed GitLab (REST API v4): projects and their repositories.",
	Category:    connectors.CategorySCM,
	Aliases:     []string{"gitlabserver"},
	Fields:      []connectors.Field{urlField(), tokenTypeField()},
	// OAuth2 here is an access token obtained elsewhere; the connector does
	// not run the OAuth2 flow.
	CredentialTypes:    []string{connectors.CredToken, connectors.CredOAuth2},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	ResourceTypes:      []string{ResourceProjects, ResourceRepositories},
	Capabilities:       []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	New:                NewSCM,
}

// CISpec declares the CI/CD provider.
var CISpec = &connectors.Spec{
	ID:          CIProviderID,
	Name:        "GitLab CI/CD",
	Description: "GitLab CI/CD pipelines and jobs of a project; triggers pipelines.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		urlField(),
		{Name: "projectId", Type: connectors.TypeString, Required: true, MaxLength: maxProjectLength,
			Description: "Project id or path, e.g. 42 or mygroup/myapp."},
		{Name: "defaultBranch", Type: connectors.TypeString, MaxLength: 255,
			Description: "Default ref for triggers; the project's default branch when unset."},
		tokenTypeField(),
	},
	CredentialTypes:    []string{connectors.CredToken, connectors.CredOAuth2},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	ResourceTypes:      []string{ResourcePipelines, ResourceJobs},
	Capabilities:       []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger},
	New:                NewCI,
}
