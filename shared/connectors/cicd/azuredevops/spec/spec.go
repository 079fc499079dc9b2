// Package spec declares the Azure DevOps Pipelines provider: its config
// fields and their rules, credentials and capabilities. It imports nothing
// heavy, so services that only validate or list providers link no
// implementation.
package spec

import (
	"errors"
	"regexp"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "azure-devops"

// The discoverable resource types.
const (
	ResourcePipelines = "pipelines"
)

// DefaultURL is Azure DevOps Services; an Azure DevOps Server is
// https://HOST/tfs (its collection then goes in organization).
const DefaultURL = "https://dev.azure.com"

// How a trigger's parameters reach the run.
const (
	ParamsTemplate  = "templateParameters"
	ParamsVariables = "variables"
)

// OrgName is Azure DevOps' organization (or Server collection) name rule:
// letters, digits and hyphens, starting and ending with a letter or digit,
// at most 50 characters.
var OrgName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$`)

// CheckProject applies Azure DevOps' project naming restrictions: at most
// 64 characters, none of \ / : * ? " < > | ; # $ { } , + = [ ] or control
// characters, not starting with '_' or '.', not ending with '.'.
func CheckProject(s string) error {
	switch {
	case s == "" || len(s) > 64:
		return errors.New("must be 1 to 64 characters")
	case strings.ContainsAny(s, `\/:*?"<>|;#${},+=[]%&`) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New(`must not hold \ / : * ? " < > | ; # $ { } , + = [ ] % & or control characters`)
	case strings.HasPrefix(s, "_") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, "."):
		return errors.New("must not start with '_' or '.' nor end with '.'")
	}
	return nil
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Azure DevOps Pipelines",
	Description: "Azure Pipelines of an Azure DevOps project (Services or Server, REST API 7.1); runs a pipeline on a branch with template parameters or variables and follows the run, stage by stage, to its result.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Default: DefaultURL, Check: connectors.BaseURL,
			Description: "Service root: https://dev.azure.com, or https://HOST/tfs for Azure DevOps Server."},
		{Name: "organization", Type: connectors.TypeString, Required: true, MaxLength: 50, Pattern: OrgName,
			PatternDescription: "an Azure DevOps organization (or Server collection) name: letters, digits and hyphens, not starting or ending with a hyphen",
			Description:        "Organization (Azure DevOps Server: project collection)."},
		{Name: "project", Type: connectors.TypeString, Required: true, MaxLength: 64, Check: CheckProject,
			Description: "Project name or id holding the pipelines."},
		{Name: "parametersAs", Type: connectors.TypeEnum, Enum: []string{ParamsTemplate, ParamsVariables}, Default: ParamsTemplate,
			Description: "Where a trigger's parameters go: the YAML pipeline's runtime parameters (templateParameters), or variables settable at queue time."},
	},
	CredentialTypes:    []string{connectors.CredToken, connectors.CredBasic},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Reads the project without credentials: any answer carrying Azure DevOps' X-VSS-E2EID or X-TFS-ProcessId header, 401 and 203 included, proves the service is there.",
		contracts.CheckAuthentication: "Reads the project with the personal access token (Basic, empty user): 401, or a 203 sign-in page, is a token Azure DevOps does not take.",
		contracts.CheckFunctionality:  "Lists one pipeline of the project: it exists and the token may read its builds.",
	},
	ResourceTypes: []string{ResourcePipelines},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger, connectors.CapFollowRuns},
	Example: connectors.Example{
		Config:        map[string]any{"organization": "fabrikam", "project": "web-shop", "parametersAs": ParamsTemplate},
		CredentialRef: "vault://vault-1/azure-devops/release-bot#token",
	},
}
