// Package spec declares the PagerDuty provider: its config fields,
// credentials and capabilities. It imports nothing heavy, so services that
// only validate or list providers link no implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "pagerduty"

// Defaults of the config fields.
const (
	DefaultEventsURL = "https://events.pagerduty.com"
	DefaultAPIURL    = "https://api.pagerduty.com"
	DefaultSource    = "stella-ops-inthub"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "PagerDuty",
	Description: "Incidents and alerts through the Events API v2: trigger, and resolve with the same dedup key.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "routingKeyRef", Type: connectors.TypeString, Secret: true, Required: true,
			Description: "Credential reference to the 32-character Events API v2 integration (routing) key."},
		{Name: "eventsUrl", Type: connectors.TypeURL, Default: DefaultEventsURL, Check: connectors.BaseURL,
			Description: "Events API base URL (https://events.eu.pagerduty.com for EU accounts)."},
		{Name: "apiUrl", Type: connectors.TypeURL, Default: DefaultAPIURL, Check: connectors.BaseURL,
			Description: "REST API base URL, used by the authentication check when credentialRef holds a REST API key."},
		{Name: "source", Type: connectors.TypeString, Default: DefaultSource, MaxLength: 255,
			Description: "payload.source of triggered alerts: the system reporting them."},
	},
	CredentialTypes: []string{connectors.CredAPIKey, connectors.CredToken},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET on the Events API host: any HTTP answer passes.",
		contracts.CheckAuthentication: "The routing key resolves and has the Events API's shape (32 characters); with a REST API key in credentialRef, GET /abilities must answer 200.",
		contracts.CheckFunctionality:  "A resolve event for a dedup key that is never triggered must be accepted (202): it pages no one, yet proves the routing key and the event path.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapNotify},
	Example: connectors.Example{
		Config: map[string]any{"routingKeyRef": "vault://vault-1/pagerduty/releases#routingKey"},
	},
}
