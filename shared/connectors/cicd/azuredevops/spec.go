// Package azuredevops is the Azure DevOps Pipelines provider (REST API
// 7.1): health checks, discovery of a project's pipelines, runs and their
// cancellation.
//
// Authentication is a personal access token sent as HTTP Basic with an
// empty user (a basic credential's user is sent but ignored by Azure
// DevOps). Every request carries X-TFS-FedAuthRedirect: Suppress, so a token
// Azure DevOps does not take is 401 rather than a 203 sign-in page; a 203
// is still read as an authentication failure.
//
// Runs: POST {org}/{project}/_apis/pipelines/{id}/runs starts one (the
// pipeline by id, or by name or folder path found in the listing; a ref as
// resources.repositories.self.refName, parameters as templateParameters or
// variables); GET …/pipelines/{id}/runs/{runId} reads its state
// (inProgress, canceling, completed) and result (succeeded, failed,
// canceled), and the build timeline (GET _apis/build/builds/{runId}/
// timeline) its stages and jobs: a run in progress none of whose jobs has
// started is queued. A run is cancelled through the build API (a run's id is
// its build's): PATCH _apis/build/builds/{runId} {"status":"cancelling"}.
//
// Discovery lists the project's pipelines with Azure DevOps' own paging:
// $top and the continuationToken the x-ms-continuationtoken header of the
// previous answer names.
//
// Rate limits: 429 with Retry-After (and X-RateLimit-Reset) is
// RATE_LIMITED; a delayed request (X-RateLimit-Delay) is just slower.
//
// Hand-written over the kit: the Go SDK (azure-devops-go-api) brings its
// own connection and retry handling, which the guarded client replaces.
package azuredevops

import "github.com/stella-ops/inthub/shared/connectors/cicd/azuredevops/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID        = spec.ProviderID
	ResourcePipelines = spec.ResourcePipelines
	ParamsTemplate    = spec.ParamsTemplate
	ParamsVariables   = spec.ParamsVariables
	APIVersion        = "7.1"
)
