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

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the spec's type id.
const ProviderID = "azure-key-vault"

// The authentication methods.
const (
	AuthClientSecret    = "clientSecret"
	AuthManagedIdentity = "managedIdentity"
)

// DefaultAuthorityHost is Microsoft Entra ID's public cloud.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:   ProviderID,
	Name: "Azure Key Vault",
	Description: "Azure Key Vault secrets: credential references vault://<this integration>/<secret name>[/<version>]#<key> " +
		"read a secret's current (or given) version.",
	Category: connectors.CategorySecretStore,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Description: "Vault URL, e.g. https://myvault.vault.azure.net."},
		{Name: "authMethod", Type: connectors.TypeEnum, Enum: []string{AuthClientSecret, AuthManagedIdentity}, Default: AuthClientSecret,
			Description: "clientSecret: tenantId, clientId and the secret of credentialRef; managedIdentity: the hub's identity (operator opt-in)."},
		{Name: "tenantId", Type: connectors.TypeString, MaxLength: 64, Description: "Microsoft Entra tenant (directory) ID."},
		{Name: "clientId", Type: connectors.TypeString, MaxLength: 64, Description: "Application (client) ID; for managedIdentity, a user-assigned identity's client ID."},
		{Name: "authorityHost", Type: connectors.TypeURL, Default: DefaultAuthorityHost,
			Description: "Microsoft Entra authority host (sovereign clouds, Azure Stack)."},
		{Name: "skipChallengeResourceVerification", Type: connectors.TypeBool, Default: false,
			Description: "Accept an authentication challenge whose resource does not match the vault's domain (private endpoints with custom names)."},
		{Name: "canarySecret", Type: connectors.TypeString, MaxLength: 256, Description: "Secret the functionality check reads."},
	},
	CredentialTypes: []string{connectors.CredOAuth2},
	CheckLevels:     contracts.CheckTypes,
	Capabilities:    []connectors.Capability{connectors.CapCheck, connectors.CapReadSecret},
	New:             New,
}
