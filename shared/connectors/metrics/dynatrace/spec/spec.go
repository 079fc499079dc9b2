// Package spec declares the Dynatrace provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so services
// that only validate or list providers link no implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "dynatrace"

// DefaultInstantWindowSeconds is how far back an instant query looks for
// the latest point: the Metrics API v2 has only timeframes.
const DefaultInstantWindowSeconds = 300

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Dynatrace",
	Description: "Dynatrace Metrics API v2: health checks and metric selector queries for canary analysis.",
	Category:    connectors.CategoryMetrics,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Environment URL: https://<environment-id>.live.dynatrace.com (SaaS) or https://<domain>/e/<environment-id> (Managed); the API is under /api/v2/."},
		{Name: "instantWindowSeconds", Type: connectors.TypeInt, Default: DefaultInstantWindowSeconds, Min: 60, Max: 3600,
			Description: "How far back an instant query looks: its answer is each series' latest point in this window."},
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /api/v2/metrics without a token: the API's 401 passes, as a 200 would.",
		contracts.CheckAuthentication: "GET /api/v2/metrics?pageSize=1 with the token (Authorization: Api-Token).",
		contracts.CheckFunctionality:  "Queries builtin:host.cpu.usage over the last 5 minutes: the token needs the metrics.read scope.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapQuery},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://abc12345.live.dynatrace.com"},
		CredentialRef: "vault://vault-1/dynatrace/api#token",
	},
}
