// Package slack is the Slack provider (the Slack Web API with a bot token):
// health checks, discovery of channels, notifications with threads, and
// reactions.
//
// Slack answers HTTP 200 with {"ok":false,"error":"<code>"} for most
// failures, and HTTP 429 with Retry-After when rate limited. Codes map to
// the hub's: invalid_auth, not_authed, account_inactive, token_revoked,
// token_expired → AUTHENTICATION_FAILED; missing_scope (naming the scope),
// not_in_channel, no_permission, … → PERMISSION_DENIED; channel_not_found,
// message_not_found → RESOURCE_NOT_FOUND; ratelimited → RATE_LIMITED;
// invalid requests (invalid_blocks, msg_too_long, no_text, is_archived, …)
// → INVALID_CONFIG; anything else → UPSTREAM_ERROR.
//
// Methods: api.test (connectivity, no token), auth.test (authentication;
// also checks the token's workspace against the workspace field),
// conversations.list (functionality, channels discovery: cursor pagination,
// exclude_archived, types from channelTypes), chat.postMessage (Notify, a
// JSON body with Content-Type application/json; charset=utf-8: header,
// section and severity context blocks, text as the notification fallback)
// and reactions.add (React). Reads send form-encoded arguments, since
// conversations.list takes no JSON.
//
// Threads: Notify returns "<channel id>:<ts>" of the thread root — the new
// message itself, or the parent it replied to — so callers keep it as the
// thread key of later messages. A message replies in a thread when its
// ThreadKey is such an id or Data["thread_ts"] holds a ts (or an id).
//
// It is hand-written over httpx rather than built on slack-go: five
// methods, all through the guarded client with the hub's error codes,
// and slack-go's RateLimitedError and string errors would each need the
// same mapping again; its HTTP client option alone would not keep URLs and
// tokens out of error texts as httpx does.
package slack

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the spec's type id.
const ProviderID = "slack"

// ResourceChannels is the discoverable resource type.
const ResourceChannels = "channels"

// DefaultURL is the Web API's root; tests and Enterprise proxies set
// another.
const DefaultURL = "https://slack.com/api"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Slack",
	Description: "Slack messages, threads and reactions through the Web API with a bot token; discovers channels.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: DefaultURL, Description: "Web API root (https://slack.com/api)."},
		{Name: "workspace", Type: connectors.TypeString, MaxLength: 255,
			Description: "Workspace the token must belong to: team id (T…), name or domain (acme of acme.slack.com)."},
		{Name: "defaultChannel", Type: connectors.TypeString, MaxLength: 255,
			Description: "Channel for notifications that name none: an id (C…) or a name (#releases)."},
		{Name: "iconEmoji", Type: connectors.TypeString, MaxLength: 100,
			Description: "Emoji used as the bot's icon, e.g. :rocket: (needs the chat:write.customize scope)."},
		{Name: "channelTypes", Type: connectors.TypeStringList, Default: []string{"public_channel", "private_channel"},
			Description: "Conversation types discovered: public_channel, private_channel (needs groups:read), mpim, im."},
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	ResourceTypes:      []string{ResourceChannels},
	Capabilities:       []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapNotify},
	New:                New,
}
