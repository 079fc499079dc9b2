// Package drone is the Drone CI provider (the REST API of a Drone server,
// /api): health checks, discovery of repositories and their builds, custom
// builds with parameters, and following a build stage by stage to its
// result.
//
// Authentication is a personal token sent as "Authorization: Bearer".
// Drone treats a request without a valid token as a guest's: /api/user
// answers it 401. A user without write access to a repository gets 404 on
// its builds' POST and DELETE, not 403.
//
// A pipeline is a repository, named owner/name. Trigger posts
// /api/repos/{owner}/{name}/builds with the ref as branch (or as commit,
// when it is a 40-character sha) and params as query parameters, which
// Drone hands to the pipeline as build parameters; it returns the build
// number. RunStatus reads /api/repos/{owner}/{name}/builds/{number}: the
// build's status (pending, running, success, failure, killed, error, …)
// and each stage's steps as jobs. CancelRun is DELETE on the build, which
// kills it when it is pending or running and leaves a finished one alone.
//
// Discovery:
//
//   - repositories: GET /api/user/repos, every repository the token's user
//     sees, in one answer (Drone does not page it); the cursor is an offset
//     into that list. Attributes: active, defaultBranch, visibility, link.
//     namePattern is a glob on owner/name (or on the name alone);
//   - builds: the build history of the repository filter.repository names
//     (owner/name), newest first, paged with Drone's own page and per_page
//     (100) parameters: a page shorter than per_page is the last. The
//     cursor is Drone's page and how many of it an earlier discovery page
//     returned. Name is the build number; namePattern also matches the
//     branch. Attributes: status, event, ref, commit, message.
//
// Webhooks: Drone's global webhooks (DRONE_WEBHOOK_ENDPOINT pointing at
// POST /api/v1/hooks/{integrationId}, DRONE_WEBHOOK_SECRET the secret of
// webhookSecretRef) tell the pipeline-runner a build changed; it checks
// their HTTP Signature (hmac-sha256 over Date and Digest) and reads the
// integration's open runs at once.
//
// Drone itself does not rate-limit, but the proxies in front of it do: 429
// and 503 with Retry-After are RATE_LIMITED.
//
// Hand-written over the kit: drone-go builds its own transport (oauth2),
// where every call must go through the hub's guarded client.
package drone

import "github.com/stella-ops/inthub/shared/connectors/cicd/drone/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID           = spec.ProviderID
	ResourceRepositories = spec.ResourceRepositories
	ResourceBuilds       = spec.ResourceBuilds
)
