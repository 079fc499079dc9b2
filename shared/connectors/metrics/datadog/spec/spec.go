// Package spec declares the Datadog provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so services
// that only validate or list providers link no implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "datadog"

// Sites are Datadog's sites as its API reference lists their endpoints;
// the API of site s is https://api.<s>.
var Sites = []string{"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "uk1.datadoghq.com", "ddog-gov.com", "us2.ddog-gov.com"}

// DefaultInstantWindowSeconds is how far back an instant query looks for
// the latest point: Datadog has only range queries.
const DefaultInstantWindowSeconds = 300

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Datadog",
	Description: "Datadog metrics API (v1 timeseries query): health checks and metric queries for canary analysis. A range query's stepSeconds is the rollup interval of a plain metric query; a range of more than 1,500 steps (Datadog's points per series) is asked in chunks.",
	Category:    connectors.CategoryMetrics,
	Fields: []connectors.Field{
		{Name: "site", Type: connectors.TypeEnum, Enum: Sites, Default: "datadoghq.com",
			Description: "The account's Datadog site; the API is https://api.<site>."},
		{Name: "url", Type: connectors.TypeURL, Check: connectors.BaseURL,
			Description: "API base URL, overriding site (a proxy in front of Datadog)."},
		{Name: "instantWindowSeconds", Type: connectors.TypeInt, Default: DefaultInstantWindowSeconds, Min: 10, Max: 3600,
			Description: "How far back an instant query looks: its answer is each series' latest point in this window."},
	},
	CredentialTypes:    []string{connectors.CredAPIKey},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /api/v1/validate without keys: the API's 403 for a request without a key passes, as a 200 would; 5xx, 404 and 429 fail.",
		contracts.CheckAuthentication: "GET /api/v1/validate with the API key must answer valid.",
		contracts.CheckFunctionality:  "GET /api/v1/metrics (active metrics of the last hour) with both keys: the application key must be allowed to read metrics.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapQuery},
	Example: connectors.Example{
		Config:        map[string]any{"site": "datadoghq.eu"},
		CredentialRef: "vault://vault-1/datadog/keys#apiKey",
	},
}
