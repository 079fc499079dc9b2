// Package spec declares the Prometheus provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "prometheus"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Prometheus",
	Description: "Prometheus HTTP API: health checks, and instant and range PromQL queries for canary metrics.",
	Category:    connectors.CategoryMetrics,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Prometheus base URL, e.g. https://prometheus.example.com (the API is under /api/v1/)."},
	},
	CredentialTypes: []string{connectors.CredBasic, connectors.CredToken},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /-/healthy without credentials: a 401 from a Prometheus behind basic auth proves it answers as well as a 200 does.",
		contracts.CheckAuthentication: "Reads /api/v1/status/buildinfo with the credentials.",
		contracts.CheckFunctionality:  "Runs the instant query vector(1), which needs no data and must return 1.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapQuery},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://prometheus.example.com"},
		CredentialRef: "vault://vault-1/prometheus/reader#credentials",
	},
}
