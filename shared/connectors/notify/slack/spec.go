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

import "github.com/stella-ops/inthub/shared/connectors/notify/slack/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID       = spec.ProviderID
	ResourceChannels = spec.ResourceChannels
	DefaultURL       = spec.DefaultURL
)

// knownTypes are the declaration's channel types.
var knownTypes = spec.ChannelTypes
