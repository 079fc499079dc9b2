// Package spec declares the Docker Hub provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "docker-hub"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// Namespace is a Docker Hub user or organization name: lowercase letters
// and digits (organizations also - and _), starting with a letter or digit.
var Namespace = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,254}$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Docker Hub",
	Description: "Docker Hub: repositories of a namespace from the Docker Hub API, tags over the registry API v2 (registry-1.docker.io).",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "namespace", Type: connectors.TypeString, Required: true, Pattern: Namespace, MaxLength: 255,
			PatternDescription: "a Docker Hub user or organization: lowercase letters, digits, - and _",
			Description:        "User or organization whose repositories discovery lists (library for the official images)."},
		{Name: "hubUrl", Type: connectors.TypeURL, Default: "https://hub.docker.com", Check: connectors.BaseURL,
			Description: "Docker Hub API base URL (token exchange and the repository listing)."},
		{Name: "registryUrl", Type: connectors.TypeURL, Default: "https://registry-1.docker.io", Check: connectors.RegistryURL,
			Description: "Registry API v2 host of Docker Hub (tags, digests, creation times)."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag; Docker Hub does not count a HEAD as a pull)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config, which counts against the pull rate limit)."},
	},
	CredentialTypes: []string{connectors.CredBasic},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /v2/ of the registry and one page of the namespace's public repositories from the Docker Hub API, without credentials.",
		contracts.CheckAuthentication: "Exchanges the username and personal access token for an access token (POST /v2/auth/token) and authenticates to the registry with them.",
		contracts.CheckFunctionality:  "Lists one repository of the namespace with the access token (/v2/namespaces/{namespace}/repositories?page_size=1).",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"namespace": "stellaops"},
		CredentialRef: "vault://vault-1/dockerhub/ci-pat",
	},
}
