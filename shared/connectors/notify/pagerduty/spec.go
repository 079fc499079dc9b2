// Package pagerduty is the PagerDuty provider: alerts through the Events API
// v2 (POST /v2/enqueue), triggered and resolved by one dedup_key, so the
// incident an outage opened is resolved when the integration recovers.
//
// Hand-written HTTP: the Events API is one endpoint and the REST API is used
// for a single GET; PagerDuty's Go SDK would bring its whole REST surface.
//
// Health checks:
//   - connectivity: GET on the Events API host; any HTTP answer passes.
//   - authentication: the routing key resolves and has the Events API's
//     shape (32 characters); when credentialRef holds a REST API key,
//     GET /abilities with "Authorization: Token token=<key>" must answer 200.
//     Without a REST API key the routing key cannot be verified without
//     sending an event, so the level passes after the shape check.
//   - functionality: a resolve event for a dedup_key that is never
//     triggered (inthub-health-check:<integration id>) must be accepted
//     (202). PagerDuty drops resolves of unknown alerts, so the check pages
//     no one, yet it proves the routing key and the event path work.
package pagerduty

import "github.com/stella-ops/inthub/shared/connectors/notify/pagerduty/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	DefaultEventsURL = spec.DefaultEventsURL
	DefaultAPIURL    = spec.DefaultAPIURL
	DefaultSource    = spec.DefaultSource
)
