// Package spec declares the Amazon ECR provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation
// (here, the AWS SDK).
package spec

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/awsauth"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "ecr"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// RegistryID is an AWS account id, the id of its private registry.
var RegistryID = regexp.MustCompile(`^[0-9]{12}$`)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Amazon ECR",
	Description: "Amazon Elastic Container Registry: repositories from the ECR API (DescribeRepositories), tags over the registry API v2 with the password GetAuthorizationToken returns.",
	Category:    connectors.CategoryRegistry,
	Fields: append(append([]connectors.Field{
		awsauth.RegionField(),
		{Name: "registryId", Type: connectors.TypeString, Pattern: RegistryID, PatternDescription: "a 12-digit AWS account id",
			Description: "Account whose private registry is read; default the credentials' own account."},
		{Name: "url", Type: connectors.TypeURL, Check: connectors.BaseURL,
			Description: "ECR API endpoint override (a VPC endpoint); default https://api.ecr.<region>.amazonaws.com."},
		{Name: "registryUrl", Type: connectors.TypeURL, Check: connectors.RegistryURL,
			Description: "Registry API v2 override; default https://<registryId>.dkr.ecr.<region>.amazonaws.com, or the proxyEndpoint GetAuthorizationToken names."},
	}, awsauth.RoleFields()...), []connectors.Field{
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
		{Name: "resolveCreated", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's image creation time (attributes.created, for orderBy created; reads each tag's manifest and config)."},
	}...),
	CredentialTypes:    []string{connectors.CredBasic},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "An unsigned request to the ECR API endpoint: any answer proves it is reachable.",
		contracts.CheckAuthentication: "A signed GetAuthorizationToken (with authMethod assumeRole, after assuming the role), then signs in to the registry with the password it returns.",
		contracts.CheckFunctionality:  "Reads one repository with DescribeRepositories.",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceTags},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	Example: connectors.Example{
		Config:        map[string]any{"region": "eu-west-1", "registryId": "123456789012"},
		CredentialRef: "vault://vault-1/aws/ecr-reader",
	},
}
