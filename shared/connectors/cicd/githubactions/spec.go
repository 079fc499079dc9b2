// Package githubactions is the GitHub Actions provider (github.com and GitHub
// Enterprise Server, REST API version 2022-11-28) for one repository:
// health checks, discovery of its workflows and of the jobs of its latest
// run, and workflow_dispatch triggers.
//
// Every request carries Accept: application/vnd.github+json,
// X-GitHub-Api-Version: 2022-11-28 and, when the integration has a
// credential, Authorization: Bearer <token> (a personal access token, a
// fine-grained token, or a GitHub App installation token).
//
// Resources:
//
//   - pipelines: the repository's workflows (GET
//     /repos/{owner}/{repo}/actions/workflows): name the workflow's name, id
//     its numeric id, attributes path, file (e.g. ci.yml), state, htmlUrl.
//   - jobs: the jobs of one workflow run (GET
//     /repos/{owner}/{repo}/actions/runs/{run_id}/jobs?filter=latest): the
//     latest run of the workflow filter.repository names (a workflow file
//     name such as ci.yml, or a workflow id), else the latest run of the
//     repository. Name the job's name, id its numeric id, attributes runId,
//     workflowName, status, conclusion, headBranch, htmlUrl. No run yet: no
//     jobs.
//
// Listings page with per_page=100 and the Link rel="next" query. namePattern
// is a path.Match glob on the name (workflows: also on the file name).
//
// Rate limits: GitHub answers an exhausted primary limit with 403 or 429 and
// X-RateLimit-Remaining: 0; the wait is X-RateLimit-Reset (Unix time) minus
// now. A secondary limit is 403 or 429 with Retry-After, or, without any
// header, a message saying so: GitHub asks for at least a minute then.
// All of them are RATE_LIMITED carrying the wait.
//
// It is hand-written over httpx rather than built on go-github: six
// endpoints, each call resolving its token and carrying the hub's error
// codes; go-github's rate-limit handling (its own error types, sleeping
// inside the client) would compete with the hub's retry table.
package githubactions

import (
	"github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/spec"
	"github.com/stella-ops/inthub/shared/connectors/githubapi"
)

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID        = spec.ProviderID
	ResourcePipelines = spec.ResourcePipelines
	ResourceJobs      = spec.ResourceJobs
	DefaultURL        = spec.DefaultURL
)

// APIVersion is the REST API version every request asks for.
const APIVersion = githubapi.APIVersion

// The declaration's name rules.
var (
	ownerName = spec.OwnerName
	repoName  = spec.RepoName
)
