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

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Security modes.
const (
	// SecurityStartTLS requires STARTTLS before AUTH and mail (the default).
	SecurityStartTLS = "starttls"
	// SecurityTLS is implicit TLS from the first byte (port 465).
	SecurityTLS = "tls"
	// SecurityNone is plaintext, for a trusted relay; it refuses credentials.
	SecurityNone = "none"
)

// Authentication mechanisms.
const (
	MechanismAuto  = "auto"
	MechanismPlain = "plain"
	MechanismLogin = "login"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          "email",
	Name:        "Email (SMTP)",
	Description: "Email over SMTP with STARTTLS and authentication; HTML and text templates, attachments.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "host", Type: connectors.TypeString, Required: true, MaxLength: 253, Description: "SMTP server host name."},
		{Name: "port", Type: connectors.TypeInt, Min: 1, Max: 65535, Default: 587, Description: "SMTP port (587 submission, 465 implicit TLS, 25 relay)."},
		{Name: "security", Type: connectors.TypeEnum, Enum: []string{SecurityStartTLS, SecurityTLS, SecurityNone}, Default: SecurityStartTLS,
			Description: "starttls requires STARTTLS; tls is implicit TLS; none is plaintext and refuses credentials."},
		{Name: "from", Type: connectors.TypeString, Required: true, MaxLength: 320, Description: "Sender address, optionally with a name: \"Release Bot <bot@example.com>\"."},
		{Name: "to", Type: connectors.TypeStringList, Required: true, Description: "Default recipients; a rule's channel may name others."},
		{Name: "authMechanism", Type: connectors.TypeEnum, Enum: []string{MechanismAuto, MechanismPlain, MechanismLogin}, Default: MechanismAuto,
			Description: "AUTH mechanism; auto takes PLAIN when offered, else LOGIN."},
		{Name: "heloName", Type: connectors.TypeString, MaxLength: 253, Default: "localhost", Description: "Name sent in EHLO."},
		{Name: "subjectPrefix", Type: connectors.TypeString, MaxLength: 64, Description: "Prefix of every subject, like \"[inthub]\"."},
	},
	CredentialTypes: []string{connectors.CredBasic},
	CheckLevels:     contracts.CheckTypes,
	Capabilities:    []connectors.Capability{connectors.CapCheck, connectors.CapNotify},
	New:             New,
}
