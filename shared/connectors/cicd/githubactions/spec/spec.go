// Package spec declares the GitHub Actions provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"errors"
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "github-actions"

// The discoverable resource types.
const (
	ResourcePipelines = "pipelines"
	ResourceJobs      = "jobs"
)

// DefaultURL is github.com's API root; GitHub Enterprise Server's is
// https://HOST/api/v3.
const DefaultURL = "https://api.github.com"

// GitHub's name rules: a user or organization name is 1 to 39 letters,
// digits and hyphens, not starting with a hyphen; a repository name is 1 to
// 100 letters, digits, '.', '_' and '-'.
var (
	OwnerName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	RepoName  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// CheckRepo refuses the names RepoName lets through but GitHub does not:
// "." and "..", which would also climb URL paths.
func CheckRepo(s string) error {
	if s == "." || s == ".." {
		return errors.New("must not be '.' or '..'")
	}
	return nil
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "GitHub Actions",
	Description: "GitHub Actions workflows and jobs of a repository (github.com or GitHub Enterprise Server); triggers workflow_dispatch and follows the run it started to its conclusion.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: DefaultURL, Check: connectors.BaseURL,
			Description: "API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server."},
		{Name: "owner", Type: connectors.TypeString, Required: true, MaxLength: 39, Pattern: OwnerName,
			PatternDescription: "a GitHub user or organization name (letters, digits and hyphens, not starting with a hyphen)",
			Description:        "Repository owner (user or organization)."},
		{Name: "repo", Type: connectors.TypeString, Required: true, MaxLength: 100, Pattern: RepoName, Check: CheckRepo,
			PatternDescription: "a GitHub repository name (letters, digits, '.', '_' and '-')",
			Description:        "Repository name."},
		{Name: "returnRunDetails", Type: connectors.TypeBool, Default: true,
			Description: "Ask the dispatch API for the created run's id (github.com since 2026-02); turn off for servers that refuse the parameter."},
		connectors.WebhookSecretField("the repository webhook's secret, with which GitHub signs each delivery in X-Hub-Signature-256 (HMAC-SHA256 of the body)."),
	},
	CredentialTypes:    []string{connectors.CredToken, connectors.CredOAuth2},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Reads the API root without a token.",
		contracts.CheckAuthentication: "Reads the token's user: 401 is a token GitHub does not know; a GitHub App installation token (valid, but no user) passes.",
		contracts.CheckFunctionality:  "Lists one workflow: the repository exists and the token may read its Actions.",
	},
	ResourceTypes: []string{ResourcePipelines, ResourceJobs},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger, connectors.CapFollowRuns},
	Webhook:       connectors.WebhookGitHubHMAC,
	Example: connectors.Example{
		Config:        map[string]any{"owner": "myorg", "repo": "myapp"},
		CredentialRef: "vault://vault-1/github/release-bot#token",
	},
}
