// Package spec declares the TeamCity provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so services
// that only validate or list providers link no implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "teamcity"

// The discoverable resource types.
const (
	ResourceProjects   = "projects"
	ResourceBuildTypes = "buildTypes"
)

// ExternalID is TeamCity's rule for the id of a project or build
// configuration: a Latin letter first, then Latin letters, digits and
// underscores, at most 225 characters.
var ExternalID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,224}$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "TeamCity",
	Description: "TeamCity projects and build configurations (REST API); queues builds with parameters on a branch and follows them from the build queue to their result.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "TeamCity server URL, e.g. https://teamcity.example.com/ (or …/teamcity/ under a context path)."},
		{Name: "project", Type: connectors.TypeString, MaxLength: 225, Pattern: ExternalID,
			PatternDescription: "a TeamCity project id (a Latin letter, then letters, digits and underscores)",
			Description:        "Project id discovery is limited to (with its subprojects); the whole server when unset."},
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Reads /app/rest/server without the token: TeamCity's 401 proves the REST API is there.",
		contracts.CheckAuthentication: "Reads the token's user (/app/rest/users/current): 401 is a token TeamCity does not know.",
		contracts.CheckFunctionality:  "Lists one build configuration (of the configured project, when set).",
	},
	ResourceTypes: []string{ResourceProjects, ResourceBuildTypes},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger, connectors.CapFollowRuns},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://teamcity.example.com/", "project": "Shop_Backend"},
		CredentialRef: "vault://vault-1/teamcity/release-bot#token",
	},
}
