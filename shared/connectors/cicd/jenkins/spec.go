// Package jenkins is the Jenkins provider (the remote access API of a
// Jenkins controller): health checks, discovery of jobs and pipelines
// through folders, and build triggers.
//
// Authentication is HTTP Basic with a user and an API token (a password
// works too, but then Jenkins wants a CSRF crumb from the same web session,
// which Trigger fetches: GET /crumbIssuer/api/json and its session cookie).
// Jenkins does not negotiate: a request without credentials is anonymous
// (403 when anonymous may not read), a wrong token is 401.
//
// Discovery walks the folder tree with the remote API's tree parameter,
// three levels a request (GET <folder>/api/json?tree=jobs[name,url,color,
// _class,jobs[...]]); a container at the third level (Folder, organization
// folder, multibranch project, or any item without a build status) is read
// with its own request. Resources are named by full name ("team/app/main")
// in that order, sorted; the cursor is an offset into that list, since
// Jenkins has no pagination of its own: a job created between two pages may
// shift the rest by one.
//
//   - jobs: every buildable item (freestyle, pipeline, matrix, a multibranch
//     project's branch jobs), not the folders holding them;
//   - pipelines: Pipeline jobs (WorkflowJob, branch jobs included) and
//     multibranch Pipeline projects (WorkflowMultiBranchProject).
//
// Attributes: url, class, color (Jenkins' build status colour), folder.
// namePattern is a path.Match glob on the full name; a pattern without '/'
// also matches the last segment.
//
// Jenkins itself does not rate-limit, but the proxies in front of it do:
// 429 and 503 with Retry-After are RATE_LIMITED.
//
// Hand-written over httpx: there is no maintained Go client for Jenkins'
// remote API that takes an *http.Client and leaves retries to the caller.
package jenkins

import "github.com/stella-ops/inthub/shared/connectors/cicd/jenkins/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID        = spec.ProviderID
	ResourceJobs      = spec.ResourceJobs
	ResourcePipelines = spec.ResourcePipelines
)

// validFullName is the declaration's full-name rule.
var validFullName = spec.ValidFullName
