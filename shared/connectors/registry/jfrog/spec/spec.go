// Package spec declares the JFrog Artifactory provider: its config fields
// and their rules, credentials and capabilities. It imports nothing heavy,
// so services that only validate or list providers link no implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "jfrog"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// How the registry API v2 reaches the Docker repository (Artifactory's
// "Docker access method").
const (
	AccessRepositoryPath = "repositoryPath" // HOST/v2/{repoKey}/{image}
	AccessSubdomain      = "subdomain"      // {repoKey}.HOST/v2/{image}
)

// RepoKey is an Artifactory repository key: letters, digits, '.', '_' and
// '-', up to 64 characters, not starting with '.' or '-'.
var RepoKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "JFrog Artifactory",
	Description: "JFrog Artifactory Docker repository: images from Artifactory's Docker catalog API, tags over the registry API v2.",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Artifactory base URL, the REST API's root without /artifactory (https://acme.jfrog.io)."},
		{Name: "repository", Type: connectors.TypeString, Required: true, Pattern: RepoKey, MaxLength: 64,
			PatternDescription: "an Artifactory repository key: letters, digits, '.', '_' and '-'",
			Description:        "Key of the Docker repository (local, remote or virtual) discovery lists."},
		{Name: "username", Type: connectors.TypeString, Required: true, MaxLength: 255,
			Description: "User the access token was issued to: the registry login name."},
		{Name: "registryUrl", Type: connectors.TypeURL, Check: connectors.RegistryURL,
			Description: "Registry API v2 host; empty: the host of url. With the subdomain access method, https://{repository}.HOST."},
		{Name: "dockerAccess", Type: connectors.TypeEnum, Enum: []string{AccessRepositoryPath, AccessSubdomain}, Default: AccessRepositoryPath,
			Description: "Artifactory's Docker access method: repository path (images are {repository}/{image} on registryUrl) or subdomain (images are {image})."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /artifactory/api/system/ping and GET /v2/ of the registry, without credentials.",
		contracts.CheckAuthentication: "Authenticates to the registry with the username and access token, as docker login does.",
		contracts.CheckFunctionality:  "Lists one image of the repository with the access token as Bearer (GET /artifactory/api/docker/{repository}/v2/_catalog?n=1).",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://acme.jfrog.io", "repository": "docker-local", "username": "release-bot"},
		CredentialRef: "vault://vault-1/jfrog/access-token#token",
	},
}
