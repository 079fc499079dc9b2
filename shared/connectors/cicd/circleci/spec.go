// Package circleci is the CircleCI provider (API v2): health checks,
// discovery of a project's pipelines and workflows, pipeline triggers and
// the following of their workflows and jobs.
//
// Authentication is a personal API token in the Circle-Token header.
//
// A run is a pipeline: POST /api/v2/project/{slug}/pipeline with branch or
// tag and parameters returns its id. Its status is read from the pipeline
// (GET /api/v2/pipeline/{id}: errored is failed) and its workflows (GET
// /api/v2/pipeline/{id}/workflow) with their jobs (GET /api/v2/workflow/
// {id}/job), each listing followed through next_page_token / page-token: a
// pipeline none of whose jobs has started (no workflow yet, or jobs queued,
// blocked or not running) is queued; any workflow still running, failing or
// on hold keeps it running; then a cancelled workflow makes it cancelled, a
// failed, errored or unauthorized one failed, else it succeeded. CancelRun
// cancels each unfinished workflow (POST /api/v2/workflow/{id}/cancel); a
// pipeline still being set up has none yet, and the cancel is retried.
//
// Discovery lists the project's pipelines (GET /api/v2/project/{slug}/
// pipeline) and its workflows by name (GET /api/v2/insights/{slug}/
// workflows), both paged by CircleCI's next_page_token.
//
// Rate limits: 429 with Retry-After is RATE_LIMITED.
package circleci

import "github.com/stella-ops/inthub/shared/connectors/cicd/circleci/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID        = spec.ProviderID
	ResourcePipelines = spec.ResourcePipelines
	ResourceWorkflows = spec.ResourceWorkflows
)
