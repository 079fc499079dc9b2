// Package spec declares the Harbor provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "harbor"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// ProjectName is Harbor's project name rule: lowercase letters, digits and
// ._- , starting with a letter or digit, at most 255 characters.
var ProjectName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,254}$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Harbor",
	Description: "Harbor registry: repositories of a project from Harbor's API v2.0, tags over the registry API v2 of the same host.",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Harbor base URL, e.g. https://harbor.example.com (the API is under /api/v2.0/, the registry under /v2/)."},
		{Name: "project", Type: connectors.TypeString, Required: true, Pattern: ProjectName, MaxLength: 255,
			PatternDescription: "a Harbor project name: lowercase letters, digits and ._-",
			Description:        "Project whose repositories discovery lists (a robot account is scoped to its projects)."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	},
	CredentialTypes: []string{connectors.CredBasic},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /api/v2.0/ping without credentials.",
		contracts.CheckAuthentication: "GET /api/v2.0/projects/{project} with the robot account: proves the credentials and their access to the project.",
		contracts.CheckFunctionality:  "Lists one repository of the project (/api/v2.0/projects/{project}/repositories?page_size=1).",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://harbor.example.com", "project": "releases"},
		CredentialRef: "vault://vault-1/harbor/robot-releases",
	},
}
