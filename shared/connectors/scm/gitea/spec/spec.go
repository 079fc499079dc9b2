// Package spec declares the Gitea SCM provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"errors"
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "gitea"

// The discoverable resource types.
const (
	ResourceProjects     = "projects"
	ResourceRepositories = "repositories"
	ResourceBranches     = "branches"
	ResourceTags         = "tags"
)

// Gitea's name rules (models/user IsUsableUsername, repo name checks): a
// user or organization name is letters, digits, '-', '_' and '.', at most
// 40, starting and ending with a letter or digit; a repository name is
// letters, digits, '-', '_' and '.', at most 100.
var (
	OwnerName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,38}[A-Za-z0-9])?$`)
	RepoName  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// CheckName refuses the names the patterns let through but Gitea does not:
// "." and "..", which would also climb URL paths.
func CheckName(s string) error {
	if s == "." || s == ".." {
		return errors.New("must not be '.' or '..'")
	}
	return nil
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Gitea",
	Description: "Gitea (1.11 and later, REST API v1): organizations, repositories, branches and tags.",
	Category:    connectors.CategorySCM,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Gitea base URL, e.g. https://gitea.example.com (the API is under /api/v1)."},
		{Name: "owner", Type: connectors.TypeString, MaxLength: 40, Pattern: OwnerName, Check: CheckName,
			PatternDescription: "a Gitea organization or user name (letters, digits, '-', '_' and '.')",
			Description:        "Organization or user whose repositories discovery lists; unset: every repository the token's user can read."},
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /api/v1/version without a token (a 401 of a server that requires sign-in still proves Gitea is there).",
		contracts.CheckAuthentication: "Reads the token's user (GET /api/v1/user).",
		contracts.CheckFunctionality:  "Lists one repository of the owner (of the token's user when no owner is set).",
	},
	ResourceTypes: []string{ResourceProjects, ResourceRepositories, ResourceBranches, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://gitea.example.com", "owner": "myorg"},
		CredentialRef: "vault://vault-1/gitea/release-bot#token",
	},
}
