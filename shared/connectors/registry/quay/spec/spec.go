// Package spec declares the Quay provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "quay"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// Namespace is a Quay organization or user name: lowercase letters,
// digits and _, starting with a letter or digit, 2 to 255 characters.
var Namespace = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{1,254}$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Quay",
	Description: "Quay (quay.io or Red Hat Quay): repositories of a namespace from Quay's API v1, tags over the registry API v2 of the same host.",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: "https://quay.io", Check: connectors.RegistryURL,
			Description: "Quay host (the API is under /api/v1/, the registry under /v2/)."},
		{Name: "namespace", Type: connectors.TypeString, Required: true, Pattern: Namespace, MaxLength: 255,
			PatternDescription: "a Quay organization or user: lowercase letters, digits and _",
			Description:        "Organization or user whose repositories discovery lists."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	},
	CredentialTypes: []string{connectors.CredToken},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /v2/ of the registry without credentials.",
		contracts.CheckAuthentication: "Authenticates to the registry with the API token (username $oauthtoken), as docker login does.",
		contracts.CheckFunctionality:  "Reads the first page of the namespace's repositories (/api/v1/repository?namespace=) with the API token.",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"namespace": "stellaops"},
		CredentialRef: "vault://vault-1/quay/api-token",
	},
}
