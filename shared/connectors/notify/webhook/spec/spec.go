// Package spec declares the generic webhook provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"errors"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "webhook"

// DefaultSignatureHeader carries the signature unless configured otherwise.
const DefaultSignatureHeader = "X-Inthub-Signature"

// ValidHeaderName reports whether s is an HTTP token (RFC 9110).
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func checkHeaderName(s string) error {
	if !ValidHeaderName(s) {
		return errors.New("is not a valid header name (RFC 9110 token)")
	}
	return nil
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Generic Webhook",
	Description: "JSON payloads POSTed to a URL, HMAC-SHA256 signed.",
	Category:    connectors.CategoryNotification,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.NoFragment, Description: "Endpoint receiving the JSON payloads."},
		{Name: "signingSecretRef", Type: connectors.TypeString, Secret: true,
			Description: "Credential reference to the HMAC-SHA256 signing secret."},
		{Name: "signatureHeader", Type: connectors.TypeString, Default: DefaultSignatureHeader, MaxLength: 128, Check: checkHeaderName,
			Description: "Header carrying 'sha256=<hex hmac>' of '<timestamp>.<body>'."},
		{Name: "healthUrl", Type: connectors.TypeURL, Check: connectors.NoFragment,
			Description: "URL the connectivity check probes instead of url (HEAD, else GET)."},
	},
	CredentialTypes: []string{connectors.CredToken, connectors.CredAPIKey, connectors.CredBasic},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "HEAD of healthUrl (url when unset), GET when HEAD is not allowed: any HTTP answer proves the receiver is reachable.",
		contracts.CheckAuthentication: "Resolves the signing secret and the credential and sends a signed test delivery: only a 401 or 403 answer fails it.",
		contracts.CheckFunctionality:  "Sends a signed test delivery that must be accepted (2xx).",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapNotify},
	Example: connectors.Example{
		Config: map[string]any{"url": "https://hooks.example.com/releases", "signingSecretRef": "vault://vault-1/hooks/releases#signingSecret"},
	},
}
