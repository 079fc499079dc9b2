// Package spec declares the email (SMTP) provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"errors"
	"net"
	"net/mail"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "email"

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

// MaxRecipients bounds one message's envelope.
const MaxRecipients = 50

// CheckHost accepts a host name or an IP address.
func CheckHost(s string) error {
	h := strings.TrimSpace(s)
	if h == "" || strings.ContainsAny(h, " /:@") && net.ParseIP(h) == nil {
		return errors.New("must be a host name or IP address")
	}
	return nil
}

func checkAddress(s string) error {
	if _, err := mail.ParseAddress(s); err != nil {
		return errors.New("is not an email address")
	}
	return nil
}

func checkAddressList(s string) error {
	if _, err := mail.ParseAddressList(s); err != nil {
		return errors.New("is not an email address (or a comma-separated list of them)")
	}
	return nil
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Email (SMTP)",
	Description: "Email over SMTP with STARTTLS and authentication; HTML and text templates, attachments.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "host", Type: connectors.TypeString, Required: true, MaxLength: 253, Check: CheckHost, Description: "SMTP server host name."},
		{Name: "port", Type: connectors.TypeInt, Min: 1, Max: 65535, Default: 587, Description: "SMTP port (587 submission, 465 implicit TLS, 25 relay)."},
		{Name: "security", Type: connectors.TypeEnum, Enum: []string{SecurityStartTLS, SecurityTLS, SecurityNone}, Default: SecurityStartTLS,
			Description: "starttls requires STARTTLS; tls is implicit TLS; none is plaintext and refuses credentials."},
		{Name: "from", Type: connectors.TypeString, Required: true, MaxLength: 320, Check: checkAddress,
			Description: "Sender address, optionally with a name: \"Release Bot <bot@example.com>\"."},
		{Name: "to", Type: connectors.TypeStringList, Required: true, Min: 1, Max: MaxRecipients, Check: checkAddressList,
			Description: "Default recipients; a rule's channel may name others."},
		{Name: "authMechanism", Type: connectors.TypeEnum, Enum: []string{MechanismAuto, MechanismPlain, MechanismLogin}, Default: MechanismAuto,
			Description: "AUTH mechanism; auto takes PLAIN when offered, else LOGIN."},
		{Name: "heloName", Type: connectors.TypeString, MaxLength: 253, Default: "localhost", Description: "Name sent in EHLO."},
		{Name: "subjectPrefix", Type: connectors.TypeString, MaxLength: 64, Description: "Prefix of every subject, like \"[inthub]\"."},
	},
	CredentialTypes: []string{connectors.CredBasic},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Connects, reads the greeting, says EHLO and starts TLS when required (a server that does not offer STARTTLS fails here).",
		contracts.CheckAuthentication: "The same, then AUTH with the credentials; without credentials it passes (an open relay needs none).",
		contracts.CheckFunctionality:  "The same, then MAIL FROM and RCPT TO for every configured recipient, then RSET: the server accepts the envelope and no message is sent.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapNotify},
	// SMTP goes through httpx.NewDialer with Instance.Policy.
	OwnTransport: true,
	Example: connectors.Example{
		Config: map[string]any{"host": "smtp.example.com", "port": 587, "from": "Release Bot <releases@example.com>",
			"to": []any{"ops@example.com"}, "subjectPrefix": "[inthub]"},
		CredentialRef: "vault://vault-1/smtp/releases#credentials",
	},
}
