// Package spec declares the Docker Registry provider: its config fields
// and their rules, credentials and capabilities. It imports nothing heavy,
// so services that only validate or list providers link no implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "docker-registry"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// MaxRepositoryLength is the distribution spec's limit on a name.
const MaxRepositoryLength = 255

// RepositoryName is the OCI distribution spec's repository name grammar:
// lowercase path components separated by '/'. It also keeps '..' and '?'
// out of the URL paths built from a name.
var RepositoryName = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Docker Registry",
	Description: "Docker Registry HTTP API v2 (CNCF distribution and compatible registries).",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Registry base URL, e.g. https://registry.example.com (the API is under /v2/)."},
		{Name: "repository", Type: connectors.TypeString, MaxLength: MaxRepositoryLength, Pattern: RepositoryName,
			PatternDescription: "a repository name of lowercase path components, like myorg/myapp (OCI distribution spec)",
			Description:        "Default repository, e.g. myorg/myapp: tags discovery uses it when the filter names none."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	},
	CredentialTypes: []string{connectors.CredBasic, connectors.CredToken},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /v2/ without credentials: any answer of the API, a 401 challenge included, proves the registry is reachable.",
		contracts.CheckAuthentication: "GET /v2/ through the auth flow (Basic, or a Bearer token fetched now from the realm the challenge names).",
		contracts.CheckFunctionality:  "Reads one entry of the catalog (/v2/_catalog?n=1).",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://registry.example.com", "repository": "myorg/myapp"},
		CredentialRef: "vault://vault-1/registry/robot#token",
	},
}
