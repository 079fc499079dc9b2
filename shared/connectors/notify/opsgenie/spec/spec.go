// Package spec declares the OpsGenie provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so services
// that only validate or list providers link no implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "opsgenie"

// Defaults of the config fields.
const (
	DefaultURL    = "https://api.opsgenie.com"
	DefaultSource = "stella-ops-inthub"
)

// MaxTags is how many tags OpsGenie takes on an alert.
const MaxTags = 20

// ResourceOnCall is the discoverable resource type: the current on-call
// recipients of the configured schedule.
const ResourceOnCall = "on-call"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "OpsGenie",
	Description: "Alerts created and closed by alias, and on-call lookup of a schedule.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: DefaultURL, Check: connectors.BaseURL,
			Description: "API base URL (https://api.eu.opsgenie.com for EU accounts)."},
		{Name: "source", Type: connectors.TypeString, Default: DefaultSource, MaxLength: 100,
			Description: "Source field of created alerts."},
		{Name: "tags", Type: connectors.TypeStringList, Max: MaxTags, Description: "Tags added to every created alert (at most 20)."},
		{Name: "schedule", Type: connectors.TypeString, MaxLength: 200,
			Description: "Schedule whose on-call recipients the functionality check and on-call discovery look up."},
		{Name: "scheduleIdentifierType", Type: connectors.TypeEnum, Enum: []string{"id", "name"}, Default: "id",
			Description: "Whether schedule is an id or a name."},
	},
	CredentialTypes:    []string{connectors.CredAPIKey},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET on the API host: any HTTP answer passes.",
		contracts.CheckAuthentication: "GET /v2/alerts?limit=1 must not answer 401; a 403 passes (the key may create and close alerts without reading them).",
		contracts.CheckFunctionality:  "The on-call lookup of the configured schedule must succeed; without a schedule, the alert list must (the key needs read access for this level).",
	},
	ResourceTypes: []string{ResourceOnCall},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapNotify, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"schedule": "release-oncall", "scheduleIdentifierType": "name", "tags": []any{"release"}},
		CredentialRef: "vault://vault-1/opsgenie/api#apiKey",
	},
}
