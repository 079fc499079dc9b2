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

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Defaults of the config fields.
const (
	DefaultURL    = "https://api.opsgenie.com"
	DefaultSource = "stella-ops-inthub"
)

// ResourceOnCall is the discoverable resource type: the current on-call
// recipients of the configured schedule.
const ResourceOnCall = "on-call"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          "opsgenie",
	Name:        "OpsGenie",
	Description: "Alerts created and closed by alias, and on-call lookup of a schedule.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: DefaultURL,
			Description: "API base URL (https://api.eu.opsgenie.com for EU accounts)."},
		{Name: "source", Type: connectors.TypeString, Default: DefaultSource, MaxLength: 100,
			Description: "Source field of created alerts."},
		{Name: "tags", Type: connectors.TypeStringList, Description: "Tags added to every created alert (at most 20)."},
		{Name: "schedule", Type: connectors.TypeString, MaxLength: 200,
			Description: "Schedule whose on-call recipients the functionality check and on-call discovery look up."},
		{Name: "scheduleIdentifierType", Type: connectors.TypeEnum, Enum: []string{"id", "name"}, Default: "id",
			Description: "Whether schedule is an id or a name."},
	},
	CredentialTypes:    []string{connectors.CredAPIKey},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	ResourceTypes:      []string{ResourceOnCall},
	Capabilities:       []connectors.Capability{connectors.CapCheck, connectors.CapNotify, connectors.CapDiscover},
	New:                New,
}
