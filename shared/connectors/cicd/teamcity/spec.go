// Package teamcity is the TeamCity provider (the REST API of a TeamCity
// server, /app/rest): health checks, discovery of projects and build
// configurations, build triggers through the build queue, and following a
// build to its result.
//
// Authentication is an access token sent as "Authorization: Bearer"; every
// request asks for JSON (Accept: application/json), TeamCity's default
// being XML.
//
// Discovery pages with TeamCity's own mechanism: a locator
// (count:100,start:N, plus affectedProject:(id:X) when the integration
// names a project) and the collection's nextHref, which says where the
// next page starts and whether there is one; the cursor holds that start
// and how many of its page an earlier discovery page already returned.
//
//   - projects: every project below the configured one (the server's when
//     unset), the root project left out; attributes parentProjectId, webUrl;
//   - buildTypes: the build configurations of those projects; attributes
//     projectId, projectName, webUrl.
//
// namePattern matches a resource's name or its id.
//
// Trigger posts a Build entity to /app/rest/buildQueue: the build type id,
// the ref as branchName (TeamCity's logical branch name, e.g. main or
// refs/heads/main), params as custom build parameters (properties). The
// run's id is the build id, which TeamCity keeps from the queue to the
// finished build: RunStatus reads /app/rest/builds/id:N, whose state is
// queued, running or finished, and whose status (SUCCESS, FAILURE,
// UNKNOWN) and canceledInfo give the verdict. CancelRun posts a
// buildCancelRequest to the queued build, and to the running build once
// it left the queue. TeamCity reports no jobs of a plain build (a composite
// build's dependencies are builds of their own), so RunState.Jobs is empty.
//
// TeamCity itself does not rate-limit REST calls, but the proxies in front
// of it do: 429 and 503 with Retry-After are RATE_LIMITED.
//
// Hand-written over the kit: there is no maintained Go client for
// TeamCity's REST API that takes an *http.Client.
package teamcity

import "github.com/stella-ops/inthub/shared/connectors/cicd/teamcity/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID         = spec.ProviderID
	ResourceProjects   = spec.ResourceProjects
	ResourceBuildTypes = spec.ResourceBuildTypes
)

// externalID is TeamCity's id rule for projects and build configurations.
var externalID = spec.ExternalID
