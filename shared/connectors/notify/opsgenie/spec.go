// Package opsgenie is the OpsGenie provider: alerts created with an alias
// (POST /v2/alerts) and closed by that alias (POST
// /v2/alerts/{alias}/close?identifierType=alias), so the alert an outage
// raised is closed when the integration recovers; and the on-call lookup of
// a schedule (GET /v2/schedules/{id}/on-calls), discoverable as "on-call".
//
// Requests carry "Authorization: GenieKey <key>"; the key is the
// integration's credentialRef (an API integration's key, which may create
// and close alerts). Create and close are asynchronous: OpsGenie answers
// 202 with a requestId, which Notify returns as the provider message id.
//
// Hand-written HTTP: three endpoints do not justify the generated SDK.
//
// Health checks:
//   - connectivity: GET on the API host; any HTTP answer passes.
//   - authentication: GET /v2/alerts?limit=1 must not answer 401. A 403
//     passes: the key is known but may not read alerts, which creating and
//     closing them does not need.
//   - functionality: the on-call lookup of the configured schedule must
//     succeed; without a schedule, the alert list must (the key needs read
//     access for this level).
package opsgenie

import "github.com/stella-ops/inthub/shared/connectors/notify/opsgenie/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	DefaultURL     = spec.DefaultURL
	DefaultSource  = spec.DefaultSource
	ResourceOnCall = spec.ResourceOnCall
	maxTags        = spec.MaxTags
)
