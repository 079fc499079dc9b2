// Package spec declares the Sonatype Nexus Repository 3 provider: its
// config fields and their rules, credentials and capabilities. It imports
// nothing heavy, so services that only validate or list providers link no
// implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "nexus"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// How the registry API v2 reaches the docker repository (Nexus's Docker
// routing methods).
const (
	RoutingPath      = "pathBased" // HOST/v2/{repository}/{image}, Nexus's preferred method
	RoutingConnector = "connector" // a port or subdomain connector: HOST:PORT/v2/{image}
)

// RepositoryName is a Nexus repository name: letters, digits, '_', '-'
// and '.', not starting with '_' or '.'.
var RepositoryName = regexp.MustCompile(`^[A-Za-z0-9-][A-Za-z0-9._-]{0,199}$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Sonatype Nexus Repository",
	Description: "Sonatype Nexus Repository 3 docker repository: images from the components REST API, tags over the registry API v2.",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Nexus base URL, the REST API's root with any context path (https://nexus.example.com or https://example.com/nexus); the API is under /service/rest/v1/."},
		{Name: "repository", Type: connectors.TypeString, Required: true, Pattern: RepositoryName, MaxLength: 200,
			PatternDescription: "a Nexus repository name: letters, digits, '_', '-' and '.', not starting with '_' or '.'",
			Description:        "Name of the docker repository (hosted, proxy or group) discovery lists."},
		{Name: "registryUrl", Type: connectors.TypeURL, Check: connectors.RegistryURL,
			Description: "Registry API v2 host: the docker connector's URL (https://nexus.example.com:8443 for a port connector, https://{repository}.nexus.example.com for a subdomain one); empty: the host of url, with path-based routing."},
		{Name: "routing", Type: connectors.TypeEnum, Enum: []string{RoutingPath, RoutingConnector}, Default: RoutingPath,
			Description: "Nexus's Docker routing: path based (images are {repository}/{image} on registryUrl) or a port or subdomain connector (images are {image})."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	},
	CredentialTypes:    []string{connectors.CredBasic},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /service/rest/v1/status and GET /v2/ of the registry, without credentials.",
		contracts.CheckAuthentication: "Authenticates to the registry with the username and password (or user token), as docker login does.",
		contracts.CheckFunctionality:  "Reads the first page of the repository's components (GET /service/rest/v1/components?repository=).",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://nexus.example.com", "repository": "docker-hosted"},
		CredentialRef: "vault://vault-1/nexus/release-bot",
	},
}
