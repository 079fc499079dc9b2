// Package spec declares the test-only inmemory provider. It imports nothing
// heavy, so services that only validate or list providers link no
// implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "inmemory"

// Failure modes a test can set in config.failureMode.
const (
	FailNone              = "none"
	FailConnectionRefused = "connection-refused"
	FailAuthentication    = "auth-failed"
	FailRateLimited       = "rate-limited"
	FailTimeout           = "timeout"
	FailFunctionality     = "functionality-failed"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "InMemory",
	Description: "Test-only registry held in the integration's config; failure modes are settable.",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "failureMode", Type: connectors.TypeEnum, Default: FailNone,
			Enum:        []string{FailNone, FailConnectionRefused, FailAuthentication, FailRateLimited, FailTimeout, FailFunctionality},
			Description: "Which failure every check returns."},
		{Name: "latencyMs", Type: connectors.TypeInt, Min: 0, Max: 60000, Default: 0, Description: "Artificial latency of each call."},
		{Name: "retryAfterSeconds", Type: connectors.TypeInt, Min: 0, Max: 3600, Default: 1, Description: "Retry-After of the rate-limited mode."},
		{Name: "repositories", Type: connectors.TypeStringList, Description: "Repository names discovery returns."},
		{Name: "tags", Type: connectors.TypeStringList, Description: "Tags every repository has."},
		{Name: "token", Type: connectors.TypeString, Secret: true, Description: "A secret field, to exercise reference validation."},
	},
	CredentialTypes: []string{connectors.CredToken, connectors.CredBasic},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Fails as failureMode says (connection-refused, rate-limited, timeout), after latencyMs.",
		contracts.CheckAuthentication: "Fails as failureMode says (also auth-failed).",
		contracts.CheckFunctionality:  "Fails as failureMode says (also auth-failed and functionality-failed).",
	},
	ResourceTypes: []string{"repositories", "tags"},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	TestOnly:      true,
	// Its data is in the config: no HTTP client.
	OwnTransport: true,
	Example: connectors.Example{
		Config: map[string]any{"repositories": []any{"myorg/myapp"}, "tags": []any{"1.0.0", "latest"}},
	},
}
