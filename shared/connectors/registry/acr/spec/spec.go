// Package spec declares the Azure Container Registry provider: its config
// fields and their rules, credentials and capabilities. It imports nothing
// heavy, so services that only validate or list providers link no
// implementation.
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	azurekv "github.com/stella-ops/inthub/shared/connectors/secrets/azurekv/spec"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "acr"

// The authentication methods.
const (
	AuthAdminUser    = "adminUser"
	AuthClientSecret = "clientSecret"
)

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Azure Container Registry",
	Description: "Azure Container Registry: repositories from ACR's catalog API (/acr/v1/_catalog), tags over the registry API v2, with the admin user or a Microsoft Entra application (token exchanged for an ACR refresh token).",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.RegistryURL,
			Description: "Login server, e.g. https://myregistry.azurecr.io."},
		{Name: "authMethod", Type: connectors.TypeEnum, Enum: []string{AuthAdminUser, AuthClientSecret}, Default: AuthAdminUser,
			Description: "adminUser: the registry's admin user and password of credentialRef; clientSecret: tenantId, clientId and the client secret of credentialRef, exchanged at /oauth2/exchange."},
		{Name: "tenantId", Type: connectors.TypeString, MaxLength: 64, Pattern: azurekv.GUID, PatternDescription: "a Microsoft Entra tenant ID (a GUID)",
			Description: "Microsoft Entra tenant (directory) ID (authMethod clientSecret)."},
		{Name: "clientId", Type: connectors.TypeString, MaxLength: 64, Description: "Application (client) ID (authMethod clientSecret)."},
		{Name: "authorityHost", Type: connectors.TypeURL, Default: azurekv.DefaultAuthorityHost, Check: connectors.HTTPSBaseURL,
			Description: "Microsoft Entra authority host (sovereign clouds, Azure Stack)."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	},
	CredentialTypes:    []string{connectors.CredBasic, connectors.CredOAuth2},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /v2/ of the registry without credentials.",
		contracts.CheckAuthentication: "Signs in to the registry: with the admin user, or with an ACR refresh token from /oauth2/exchange of a new Entra ID token.",
		contracts.CheckFunctionality:  "Reads the first repository of /acr/v1/_catalog with an access token from /oauth2/token.",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://stellaops.azurecr.io"},
		CredentialRef: "vault://vault-1/azure/acr-admin",
	},
}
