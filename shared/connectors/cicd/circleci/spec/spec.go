// Package spec declares the CircleCI provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation.
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "circleci"

// The discoverable resource types.
const (
	ResourcePipelines = "pipelines"
	ResourceWorkflows = "workflows"
)

// DefaultURL is CircleCI cloud; a CircleCI server installation is its own
// https://HOST.
const DefaultURL = "https://circleci.com"

// ProjectSlug is a CircleCI project slug: the VCS (gh, github, bb,
// bitbucket; circleci for GitLab and GitHub App projects, named by ids), the
// organization and the project.
var ProjectSlug = regexp.MustCompile(`^(?:gh|github|bb|bitbucket|circleci)/[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "CircleCI",
	Description: "CircleCI pipelines and workflows of a project (cloud or server, API v2); triggers a pipeline on a branch or tag with pipeline parameters and follows its workflows and jobs to their result.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: DefaultURL, Check: connectors.BaseURL,
			Description: "CircleCI root: https://circleci.com, or a CircleCI server's https://HOST (the API is under /api/v2)."},
		{Name: "projectSlug", Type: connectors.TypeString, Required: true, MaxLength: 210, Pattern: ProjectSlug,
			PatternDescription: "a project slug vcs/org/project: gh/acme/app, bb/acme/app, or circleci/<org id>/<project id>",
			Description:        "Project whose pipelines discovery lists and Trigger starts when given no other project of the same organization."},
		connectors.WebhookSecretField("the project webhook's secret token, with which CircleCI signs each delivery in Circleci-Signature (v1=, the HMAC-SHA256 of the body)."),
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Reads /api/v2/me without a token: CircleCI's JSON 401 (or 200) proves the API is there.",
		contracts.CheckAuthentication: "Reads /api/v2/me with the token (Circle-Token header): 401 is a token CircleCI does not know.",
		contracts.CheckFunctionality:  "Reads the project: it exists and the token's user may see it.",
	},
	ResourceTypes: []string{ResourcePipelines, ResourceWorkflows},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger, connectors.CapFollowRuns},
	Webhook:       connectors.WebhookCircleCIHMAC,
	Example: connectors.Example{
		Config:        map[string]any{"projectSlug": "gh/acme/web-shop", connectors.WebhookSecretRef: "vault://vault-1/circleci/webhook#secret"},
		CredentialRef: "vault://vault-1/circleci/release-bot#token",
	},
}
