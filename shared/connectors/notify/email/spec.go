// Package email is the email (SMTP) provider: multipart/alternative
// messages (text and HTML) with attachments (multipart/mixed), submitted
// over SMTP with STARTTLS required by default and AUTH PLAIN or LOGIN with
// basic credentials.
//
// The client is net/smtp: it exposes the steps the health checks need one
// by one (EHLO, STARTTLS, AUTH, MAIL, RCPT, RSET). Its connections are
// dialled through the operator's outbound policy, the same rule the HTTP
// client's guard applies: the address actually connected to (after DNS) is
// judged, so an integration cannot make the hub talk SMTP to a loopback,
// metadata or private address the operator did not allow.
//
// The provider message id is the Message-ID; a message whose ThreadKey is
// a Message-ID ("<...@...>") is sent In-Reply-To it, so mail clients thread
// the follow-ups of one alert.
//
// Health checks:
//   - connectivity: connect, greeting, EHLO, and STARTTLS when required
//     (a server that does not offer it fails here).
//   - authentication: the same, then AUTH with the credentials; without
//     credentials the level passes (an open relay needs none).
//   - functionality: the same, then MAIL FROM:<from> and RCPT TO:<to> for
//     every configured recipient, then RSET: the server accepts the
//     envelope, and no message is sent.
package email

import "github.com/stella-ops/inthub/shared/connectors/notify/email/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	SecurityStartTLS = spec.SecurityStartTLS
	SecurityTLS      = spec.SecurityTLS
	SecurityNone     = spec.SecurityNone
	MechanismAuto    = spec.MechanismAuto
	MechanismPlain   = spec.MechanismPlain
	MechanismLogin   = spec.MechanismLogin
	maxRecipients    = spec.MaxRecipients
)
