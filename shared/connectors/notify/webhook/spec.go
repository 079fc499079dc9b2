// Package webhook is the generic webhook provider: JSON payloads delivered to
// a URL, signed with HMAC-SHA256 when a signing secret is configured.
//
// A delivery is a POST of a Payload with headers Content-Type
// application/json, X-Inthub-Timestamp (Unix seconds), X-Inthub-Delivery
// (a unique id, also the provider message id), the signature header
// (X-Inthub-Signature unless configured otherwise) holding
// "sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<body>")) when
// signingSecretRef is set, and Authorization (Bearer or Basic) when
// credentialRef is set. Receivers check the signature with VerifySignature.
package webhook

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          "webhook",
	Name:        "Generic Webhook",
	Description: "JSON payloads POSTed to a URL, HMAC-SHA256 signed.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Description: "Endpoint receiving the JSON payloads."},
		{Name: "signingSecretRef", Type: connectors.TypeString, Secret: true,
			Description: "Credential reference to the HMAC-SHA256 signing secret."},
		{Name: "signatureHeader", Type: connectors.TypeString, Default: DefaultSignatureHeader, MaxLength: 128,
			Description: "Header carrying 'sha256=<hex hmac>' of '<timestamp>.<body>'."},
		{Name: "healthUrl", Type: connectors.TypeURL,
			Description: "URL the connectivity check probes instead of url (HEAD, else GET)."},
	},
	CredentialTypes: []string{connectors.CredToken, connectors.CredAPIKey, connectors.CredBasic},
	CheckLevels:     contracts.CheckTypes,
	Capabilities:    []connectors.Capability{connectors.CapCheck, connectors.CapNotify},
	New:             New,
}
