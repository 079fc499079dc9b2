// Package spec declares the Azure Key Vault provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation
// (here, the Azure SDK).
package spec

import (
	"errors"
	"regexp"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "azure-key-vault"

// The authentication methods.
const (
	AuthClientSecret    = "clientSecret"
	AuthManagedIdentity = "managedIdentity"
)

// DefaultAuthorityHost is Microsoft Entra ID's public cloud.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// Name rules: a tenant id is a GUID; a secret name is 1 to 127 letters,
// digits and '-'; a version is 32 hex digits.
var (
	GUID       = regexp.MustCompile(`^[0-9a-fA-F-]{1,64}$`)
	SecretName = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
	VersionID  = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
)

// ErrSecretPath says a path is not <secret name> or <secret name>/<version>.
var ErrSecretPath = errors.New("an Azure Key Vault path is <secret name> (letters, digits, -) or <secret name>/<32-hex-digit version>")

// SplitSecretPath reads <name> or <name>/<version>.
func SplitSecretPath(p string) (name, version string, err error) {
	name, version, _ = strings.Cut(strings.Trim(p, "/"), "/")
	if !SecretName.MatchString(name) || (version != "" && !VersionID.MatchString(version)) {
		return "", "", ErrSecretPath
	}
	return name, version, nil
}

func checkSecretPath(s string) error {
	_, _, err := SplitSecretPath(s)
	return err
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:   ProviderID,
	Name: "Azure Key Vault",
	Description: "Azure Key Vault secrets: credential references vault://<this integration>/<secret name>[/<version>]#<key> " +
		"read a secret's current (or given) version.",
	Category: connectors.CategorySecretStore,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.HTTPSBaseURL, Description: "Vault URL, e.g. https://myvault.vault.azure.net."},
		{Name: "authMethod", Type: connectors.TypeEnum, Enum: []string{AuthClientSecret, AuthManagedIdentity}, Default: AuthClientSecret,
			Description: "clientSecret: tenantId, clientId and the secret of credentialRef; managedIdentity: the hub's identity (operator opt-in)."},
		{Name: "tenantId", Type: connectors.TypeString, MaxLength: 64, Pattern: GUID, PatternDescription: "a Microsoft Entra tenant ID (a GUID)",
			Description: "Microsoft Entra tenant (directory) ID."},
		{Name: "clientId", Type: connectors.TypeString, MaxLength: 64, Description: "Application (client) ID; for managedIdentity, a user-assigned identity's client ID."},
		{Name: "authorityHost", Type: connectors.TypeURL, Default: DefaultAuthorityHost, Check: connectors.HTTPSBaseURL,
			Description: "Microsoft Entra authority host (sovereign clouds, Azure Stack)."},
		{Name: "skipChallengeResourceVerification", Type: connectors.TypeBool, Default: false,
			Description: "Accept an authentication challenge whose resource does not match the vault's domain (private endpoints with custom names)."},
		{Name: "canarySecret", Type: connectors.TypeString, MaxLength: 256, Check: checkSecretPath, Description: "Secret the functionality check reads."},
	},
	CredentialTypes: []string{connectors.CredOAuth2},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "An unauthenticated request to the vault: its 401 challenge proves it is reachable.",
		contracts.CheckAuthentication: "Obtains a new Entra ID token and lists one secret with it; a 403 still proves the token was accepted.",
		contracts.CheckFunctionality:  "Reads canarySecret, or lists one secret.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapReadSecret},
	Example: connectors.Example{
		Config: map[string]any{"url": "https://myvault.vault.azure.net", "tenantId": "00000000-0000-0000-0000-000000000000",
			"clientId": "11111111-1111-1111-1111-111111111111", "canarySecret": "inthub-canary"},
		CredentialRef: "env://INTHUB_SECRET_ACME_AZURE",
	},
}
