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

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the spec's type id.
const ProviderID = "jenkins"

// The discoverable resource types.
const (
	ResourceJobs      = "jobs"
	ResourcePipelines = "pipelines"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Jenkins",
	Description: "Jenkins jobs and Pipelines, through folders and multibranch projects; triggers builds.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Description: "Jenkins root URL, e.g. https://jenkins.example.com/ (or …/jenkins/ under a prefix)."},
		{Name: "folder", Type: connectors.TypeString, MaxLength: 1024,
			Description: "Full name of the folder discovery starts from (e.g. team-a); the whole controller when unset."},
		{Name: "refParameter", Type: connectors.TypeString, MaxLength: 255,
			Description: "Build parameter receiving a trigger's ref (e.g. BRANCH); when unset, a ref selects the branch job of a multibranch Pipeline."},
	},
	CredentialTypes:    []string{connectors.CredBasic},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	ResourceTypes:      []string{ResourceJobs, ResourcePipelines},
	Capabilities:       []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger},
	New:                New,
}
