// Package spec declares the GitLab providers (gitlab for SCM, gitlab-ci for
// CI/CD): their config fields and rules, credentials and capabilities. It
// imports nothing heavy, so services that only validate or list providers
// link no implementation.
package spec

import (
	"errors"
	"regexp"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// The provider ids: the SCM role and the CI/CD type id.
const (
	ProviderID   = "gitlab"
	CIProviderID = "gitlab-ci"
)

// The discoverable resource types.
const (
	ResourceProjects     = "projects"
	ResourceRepositories = "repositories"
	ResourcePipelines    = "pipelines"
	ResourceJobs         = "jobs"
)

// Token types: which header carries the token.
const (
	TokenPrivate = "private-token"
	TokenBearer  = "bearer"
)

// MaxProjectLength bounds a project id or path.
const MaxProjectLength = 255

// ProjectPath is a numeric project id or a namespaced path (group/app,
// group/sub/app).
var ProjectPath = regexp.MustCompile(`^(?:[0-9]+|[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)+)$`)

// CheckProject refuses what ProjectPath cannot: a ".." inside a path.
func CheckProject(p string) error {
	if strings.Contains(p, "..") {
		return errors.New("must not contain '..'")
	}
	return nil
}

func urlField() connectors.Field {
	return connectors.Field{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
		Description: "GitLab base URL, e.g. https://gitlab.example.com (the API is under /api/v4)."}
}

func tokenTypeField() connectors.Field {
	return connectors.Field{Name: "tokenType", Type: connectors.TypeEnum, Enum: []string{TokenPrivate, TokenBearer}, Default: TokenPrivate,
		Description: "How the token is sent: PRIVATE-TOKEN header (personal, project, group tokens) or Authorization: Bearer (OAuth2 tokens; the others accept it too)."}
}

// Spec declares the SCM provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "GitLab",
	Description: "GitLab.com and self-managed GitLab (REST API v4): projects and their repositories.",
	Category:    connectors.CategorySCM,
	Aliases:     []string{"gitlabserver"},
	Fields:      []connectors.Field{urlField(), tokenTypeField()},
	// OAuth2 here is an access token obtained elsewhere; the connector does
	// not run the OAuth2 flow.
	CredentialTypes:    []string{connectors.CredToken, connectors.CredOAuth2},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /api/v4/version without a token: any answer of the API proves GitLab is reachable.",
		contracts.CheckAuthentication: "Reads the token's user (GET /api/v4/user).",
		contracts.CheckFunctionality:  "Lists one project the user is a member of.",
	},
	ResourceTypes: []string{ResourceProjects, ResourceRepositories},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://gitlab.example.com"},
		CredentialRef: "vault://vault-1/gitlab/release-bot#token",
	},
}

// CISpec declares the CI/CD provider.
var CISpec = &connectors.Spec{
	ID:          CIProviderID,
	Name:        "GitLab CI/CD",
	Description: "GitLab CI/CD pipelines and jobs of a project; triggers pipelines.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		urlField(),
		{Name: "projectId", Type: connectors.TypeString, Required: true, MaxLength: MaxProjectLength,
			Pattern: ProjectPath, PatternDescription: "a project id (42) or path (mygroup/myapp)", Check: CheckProject,
			Description: "Project id or path, e.g. 42 or mygroup/myapp."},
		{Name: "defaultBranch", Type: connectors.TypeString, MaxLength: 255,
			Description: "Default ref for triggers; the project's default branch when unset."},
		tokenTypeField(),
		connectors.WebhookSecretField("the project webhook's secret token, which GitLab sends as X-Gitlab-Token."),
	},
	CredentialTypes:    []string{connectors.CredToken, connectors.CredOAuth2},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "GET /api/v4/version without a token: any answer of the API proves GitLab is reachable.",
		contracts.CheckAuthentication: "Reads the token's user (GET /api/v4/user).",
		contracts.CheckFunctionality:  "Lists one pipeline of the project: the project exists and the token may read its CI/CD.",
	},
	ResourceTypes: []string{ResourcePipelines, ResourceJobs},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger, connectors.CapFollowRuns},
	Webhook:       connectors.WebhookGitLabToken,
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://gitlab.example.com", "projectId": "mygroup/myapp", "defaultBranch": "main"},
		CredentialRef: "vault://vault-1/gitlab/release-bot#token",
	},
}
