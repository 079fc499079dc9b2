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

import "github.com/stella-ops/inthub/shared/connectors/notify/webhook/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// DefaultSignatureHeader carries the signature unless the integration
// names another header (signatureHeader).
const DefaultSignatureHeader = spec.DefaultSignatureHeader

// validHeaderName is the declaration's header name rule.
var validHeaderName = spec.ValidHeaderName
