// Package spec declares the New Relic provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so services
// that only validate or list providers link no implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "newrelic"

// Regions are New Relic's data center regions and their NerdGraph hosts.
var Regions = map[string]string{"US": "https://api.newrelic.com", "EU": "https://api.eu.newrelic.com", "JP": "https://api.jp.newrelic.com"}

// DefaultInstantWindowSeconds is how far back an instant query looks for
// the latest point.
const DefaultInstantWindowSeconds = 300

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "New Relic",
	Description: "New Relic NerdGraph (NRQL): health checks and NRQL queries for canary analysis. A range of more than 366 steps (NRQL's TIMESERIES bucket limit) is asked in chunks.",
	Category:    connectors.CategoryMetrics,
	Fields: []connectors.Field{
		{Name: "accountId", Type: connectors.TypeInt, Required: true, Min: 1, Max: 1 << 40,
			Description: "The New Relic account the NRQL queries run in."},
		{Name: "region", Type: connectors.TypeEnum, Enum: []string{"US", "EU", "JP"}, Default: "US",
			Description: "The account's data center region: NerdGraph is https://api.newrelic.com/graphql (US), api.eu.newrelic.com (EU) or api.jp.newrelic.com (JP)."},
		{Name: "url", Type: connectors.TypeURL, Check: connectors.BaseURL,
			Description: "NerdGraph base URL, overriding region (a proxy); /graphql is added."},
		{Name: "instantWindowSeconds", Type: connectors.TypeInt, Default: DefaultInstantWindowSeconds, Min: 60, Max: 3600,
			Description: "How far back an instant query looks: its answer is each series' latest minute in this window."},
	},
	CredentialTypes:    []string{connectors.CredAPIKey},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "POST /graphql without a key: NerdGraph's 401 passes, as a 200 would.",
		contracts.CheckAuthentication: "Reads the key's user ({ actor { user { id } } }) with the User API key (API-Key header).",
		contracts.CheckFunctionality:  "Runs SELECT count(*) FROM Metric SINCE 5 minutes ago in the configured account.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapQuery},
	Example: connectors.Example{
		Config:        map[string]any{"accountId": 1234567, "region": "EU"},
		CredentialRef: "vault://vault-1/newrelic/user-key#apiKey",
	},
}
