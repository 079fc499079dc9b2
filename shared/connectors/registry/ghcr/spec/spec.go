// Package spec declares the GitHub Container Registry provider: its config
// fields and their rules, credentials and capabilities. It imports nothing
// heavy, so services that only validate or list providers link no
// implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "ghcr"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// The kinds of package owner: the packages API has one route for each.
const (
	OwnerOrg  = "org"
	OwnerUser = "user"
)

// Owner is a GitHub user or organization name: 1 to 39 letters, digits
// and hyphens, not starting with a hyphen.
var Owner = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "GitHub Container Registry",
	Description: "GitHub Container Registry (ghcr.io): container packages of an organization or user from GitHub's packages API, tags over the registry API v2 of ghcr.io.",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "owner", Type: connectors.TypeString, Required: true, Pattern: Owner, MaxLength: 39,
			PatternDescription: "a GitHub user or organization name (letters, digits and hyphens, not starting with a hyphen)",
			Description:        "Organization or user whose container packages discovery lists."},
		{Name: "ownerType", Type: connectors.TypeEnum, Enum: []string{OwnerOrg, OwnerUser}, Default: OwnerOrg,
			Description: "Whether owner is an organization (/orgs/{owner}/packages) or a user (/users/{owner}/packages)."},
		{Name: "apiUrl", Type: connectors.TypeURL, Default: "https://api.github.com", Check: connectors.BaseURL,
			Description: "GitHub REST API root (https://HOST/api/v3 for GitHub Enterprise Server)."},
		{Name: "registryUrl", Type: connectors.TypeURL, Default: "https://ghcr.io", Check: connectors.RegistryURL,
			Description: "Registry API v2 host (tags, digests, creation times)."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /v2/ of the registry and the API root, without credentials.",
		contracts.CheckAuthentication: "Authenticates to the registry with the personal access token as password, as docker login does.",
		contracts.CheckFunctionality:  "Lists one container package of the owner with the token (GET /orgs/{owner}/packages, or /users/{owner}/packages, with package_type=container and per_page=1; needs read:packages).",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"owner": "stella-ops"},
		CredentialRef: "vault://vault-1/github/packages-pat#token",
	},
}
