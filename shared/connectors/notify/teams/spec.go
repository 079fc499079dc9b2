// Package teams is the Microsoft Teams provider: Adaptive Cards posted to a
// channel through a Workflows webhook ("When a Teams webhook request is
// received") or a legacy incoming webhook. Both take
//
//	{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":<card>}]}
//
// and answer 202 (Workflows) or 200 (legacy). The webhook URL carries its own
// signature (sig= in the query, or a secret path), so it is a credential:
// the integration holds a reference to it (webhookUrlRef), never the URL,
// and the connector's HTTP client hides the path from errors and spans.
//
// The card is a rule's teams template when the notifier rendered one
// (Data "teamsCard"), else a card built from the title, text, severity and
// data.
//
// Health checks:
//   - connectivity: GET on the webhook's host (https://host/); any HTTP
//     answer passes.
//   - authentication: the reference resolves to an https URL. A Teams
//     webhook has no side-effect-free call that verifies its signature.
//   - functionality: with healthCheckCard set, a small test card is posted
//     (visible in the channel) and must be accepted; without it the level
//     passes after building a card, since a check every 15 minutes must not
//     post to a channel unless the operator asked for it.
package teams

import "github.com/stella-ops/inthub/shared/connectors/notify/teams/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)
