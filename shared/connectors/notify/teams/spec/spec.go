// Package spec declares the Microsoft Teams provider: its config fields,
// credentials and capabilities. It imports nothing heavy, so services that
// only validate or list providers link no implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "teams"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Microsoft Teams",
	Description: "Adaptive Cards posted to a channel through a Workflows or incoming webhook.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "webhookUrlRef", Type: connectors.TypeString, Secret: true, Required: true,
			Description: "Credential reference to the Workflows (or legacy incoming-webhook) URL; the URL is a credential."},
		{Name: "healthCheckCard", Type: connectors.TypeBool, Default: false,
			Description: "Post a test card on each functionality check (visible in the channel)."},
	},
	CheckLevels: contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET on the webhook's host (https://host/): any HTTP answer passes.",
		contracts.CheckAuthentication: "The reference resolves to an https URL (a Teams webhook has no side-effect-free call that verifies its signature).",
		contracts.CheckFunctionality:  "With healthCheckCard, posts a small test card (visible in the channel) that must be accepted; without it, passes after building a card.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapNotify},
	// Its own client hides the webhook path (a secret) and follows no redirect.
	OwnTransport: true,
	Example: connectors.Example{
		Config: map[string]any{"webhookUrlRef": "vault://vault-1/teams/releases#webhookUrl"},
	},
}
