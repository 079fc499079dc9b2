// Package spec declares the GitHub SCM provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	actions "github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/spec"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "github"

// The discoverable resource types.
const (
	ResourceProjects     = "projects"
	ResourceRepositories = "repositories"
	ResourceBranches     = "branches"
	ResourceTags         = "tags"
)

// DefaultURL is github.com's API root; GitHub Enterprise Server's is
// https://HOST/api/v3.
const DefaultURL = actions.DefaultURL

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "GitHub",
	Description: "GitHub.com and GitHub Enterprise Server (REST API): organizations, repositories, branches and tags.",
	Category:    connectors.CategorySCM,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: DefaultURL, Check: connectors.BaseURL,
			Description: "API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server."},
		{Name: "owner", Type: connectors.TypeString, MaxLength: 39, Pattern: actions.OwnerName,
			PatternDescription: "a GitHub user or organization name (letters, digits and hyphens, not starting with a hyphen)",
			Description:        "Organization or user whose repositories discovery lists; unset: every repository the token can read."},
	},
	CredentialTypes:    []string{connectors.CredToken, connectors.CredOAuth2},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Reads the API root without a token (401 from a private GitHub Enterprise Server still proves the API is there).",
		contracts.CheckAuthentication: "Reads the token's user: 401 is a token GitHub does not know; a GitHub App installation token (valid, but no user) passes.",
		contracts.CheckFunctionality:  "Lists one repository of the owner (of the token's user when no owner is set).",
	},
	ResourceTypes: []string{ResourceProjects, ResourceRepositories, ResourceBranches, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"owner": "myorg"},
		CredentialRef: "vault://vault-1/github/release-bot#token",
	},
}
