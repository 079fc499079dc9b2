// Package azurekv is the Azure Key Vault provider: a secret store that
// credential references read secrets from, through the official SDK
// (azsecrets, with azidentity for Microsoft Entra ID tokens) on the hub's
// guarded HTTP client. It authenticates as an application with a client
// secret (client credentials), or — when the operator allows ambient
// identities — as the hub's managed identity.
//
// Health: connectivity is an unauthenticated request to the vault (its 401
// challenge proves it is reachable); authentication obtains a new token and
// lists one secret with it (a 403 still proves the token was accepted);
// functionality reads the canary secret, or lists one secret.
package azurekv

import "github.com/stella-ops/inthub/shared/connectors/secrets/azurekv/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID           = spec.ProviderID
	AuthClientSecret     = spec.AuthClientSecret
	AuthManagedIdentity  = spec.AuthManagedIdentity
	DefaultAuthorityHost = spec.DefaultAuthorityHost
)

// The declaration's name rules.
var (
	guid            = spec.GUID
	splitSecretPath = spec.SplitSecretPath
)
