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

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Defaults of the config fields.
const (
	DefaultEventsURL = "https://events.pagerduty.com"
	DefaultAPIURL    = "https://api.pagerduty.com"
	DefaultSource    = "stella-ops-inthub"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          "pagerduty",
	Name:        "PagerDuty",
	Description: "Incidents and alerts through the Events API v2: trigger, and resolve with the same dedup key.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "routingKeyRef", Type: connectors.TypeString, Secret: true, Required: true,
			Description: "Credential reference to the 32-character Events API v2 integration (routing) key."},
		{Name: "eventsUrl", Type: connectors.TypeURL, Default: DefaultEventsURL,
			Description: "Events API base URL (https://events.eu.pagerduty.com for EU accounts)."},
		{Name: "apiUrl", Type: connectors.TypeURL, Default: DefaultAPIURL,
			Description: "REST API base URL, used by the authentication check when credentialRef holds a REST API key."},
		{Name: "source", Type: connectors.TypeString, Default: DefaultSource, MaxLength: 255,
			Description: "payload.source of triggered alerts: the system reporting them."},
	},
	CredentialTypes: []string{connectors.CredAPIKey, connectors.CredToken},
	CheckLevels:     contracts.CheckTypes,
	Capabilities:    []connectors.Capability{connectors.CapCheck, connectors.CapNotify},
	New:             New,
}
