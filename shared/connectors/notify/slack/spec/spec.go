// Package spec declares the Slack provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so services
// that only validate or list providers link no implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "slack"

// ResourceChannels is the discoverable resource type.
const ResourceChannels = "channels"

// DefaultURL is the Web API's root; tests and Enterprise proxies set
// another.
const DefaultURL = "https://slack.com/api"

// ChannelTypes are the conversation types conversations.list takes.
var ChannelTypes = []string{"public_channel", "private_channel", "mpim", "im"}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Slack",
	Description: "Slack messages, threads and reactions through the Web API with a bot token; discovers channels.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: DefaultURL, Check: connectors.BaseURL, Description: "Web API root (https://slack.com/api)."},
		{Name: "workspace", Type: connectors.TypeString, MaxLength: 255,
			Description: "Workspace the token must belong to: team id (T…), name or domain (acme of acme.slack.com)."},
		{Name: "defaultChannel", Type: connectors.TypeString, MaxLength: 255,
			Description: "Channel for notifications that name none: an id (C…) or a name (#releases)."},
		{Name: "iconEmoji", Type: connectors.TypeString, MaxLength: 100,
			Description: "Emoji used as the bot's icon, e.g. :rocket: (needs the chat:write.customize scope)."},
		{Name: "channelTypes", Type: connectors.TypeStringList, Default: []string{"public_channel", "private_channel"},
			Enum: ChannelTypes, Min: 1, Max: len(ChannelTypes),
			Description: "Conversation types discovered: public_channel, private_channel (needs groups:read), mpim, im."},
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Calls api.test, which needs no token.",
		contracts.CheckAuthentication: "Calls auth.test with the bot token and checks the token belongs to the configured workspace.",
		contracts.CheckFunctionality:  "Lists one channel (conversations.list).",
	},
	ResourceTypes: []string{ResourceChannels},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapNotify},
	Example: connectors.Example{
		Config:        map[string]any{"defaultChannel": "#releases", "workspace": "acme"},
		CredentialRef: "vault://vault-1/slack/release-bot#token",
	},
}
