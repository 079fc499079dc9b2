// Package spec declares the Google Artifact Registry (and Container
// Registry) provider: its config fields and their rules, credentials and
// capabilities. It imports nothing heavy, so services that only validate or
// list providers link no implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	gcpsm "github.com/stella-ops/inthub/shared/connectors/secrets/gcpsm/spec"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "gcr"

// DefaultEndpoint is the Artifact Registry API.
const DefaultEndpoint = "https://artifactregistry.googleapis.com"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// Name rules of Artifact Registry: a location (us, europe-west1) and a
// repository id (lowercase letters, digits and -, starting with a letter).
var (
	Location     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	RepositoryID = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Google Artifact Registry",
	Description: "Google Artifact Registry (and Container Registry on it): images of a Docker repository from the Artifact Registry API (packages), tags over the registry API v2 with an OAuth2 access token from a service-account key.",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "project", Type: connectors.TypeString, Required: true, MaxLength: 128, Pattern: gcpsm.ProjectID,
			PatternDescription: "a GCP project ID (lowercase letters, digits and '-') or project number", Description: "Project holding the repository."},
		{Name: "location", Type: connectors.TypeString, Required: true, Pattern: Location,
			PatternDescription: "an Artifact Registry location such as us or europe-west1", Description: "Location of the repository."},
		{Name: "repository", Type: connectors.TypeString, Required: true, Pattern: RepositoryID,
			PatternDescription: "lowercase letters, digits and -, starting with a letter", Description: "Docker repository whose images discovery lists."},
		{Name: "url", Type: connectors.TypeURL, Default: DefaultEndpoint, Check: connectors.BaseURL, Description: "Artifact Registry API endpoint."},
		{Name: "registryUrl", Type: connectors.TypeURL, Check: connectors.RegistryURL,
			Description: "Registry API v2; default https://<location>-docker.pkg.dev."},
		{Name: "tokenUrl", Type: connectors.TypeURL, Check: connectors.BaseURL, Description: "OAuth2 token endpoint override; default the key's token_uri, else https://oauth2.googleapis.com/token."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	},
	CredentialTypes:    []string{connectors.CredServiceAccount},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /v2/ of the registry without credentials.",
		contracts.CheckAuthentication: "Obtains a new access token with the service-account key, then signs in to the registry with it (username oauth2accesstoken).",
		contracts.CheckFunctionality:  "Reads the first package of the repository from the Artifact Registry API.",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"project": "acme-prod", "location": "europe-west1", "repository": "releases"},
		CredentialRef: "vault://vault-1/gcp/artifact-reader",
	},
}
