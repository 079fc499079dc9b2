// Package spec declares the AWS Secrets Manager provider: its config fields
// and their rules, credentials and capabilities. It imports nothing heavy,
// so services that only validate or list providers link no implementation
// (here, the AWS SDK).
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/awsauth"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "aws-secrets-manager"

// The authentication methods.
const (
	AuthStatic     = awsauth.AuthStatic
	AuthAssumeRole = awsauth.AuthAssumeRole
)

// DefaultVersionStage is the staging label read when none is configured.
const DefaultVersionStage = "AWSCURRENT"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "AWS Secrets Manager",
	Description: "AWS Secrets Manager: credential references vault://<this integration>/<secret name>#<key> read a secret's current version (or a configured staging label).",
	Category:    connectors.CategorySecretStore,
	Fields: append(append([]connectors.Field{
		awsauth.RegionField(),
		{Name: "url", Type: connectors.TypeURL, Check: connectors.BaseURL, Description: "Endpoint override (a VPC endpoint); default https://secretsmanager.<region>.amazonaws.com."},
	}, awsauth.RoleFields()...), []connectors.Field{
		{Name: "versionStage", Type: connectors.TypeString, MaxLength: 256, Default: DefaultVersionStage,
			Description: "Staging label of the version read (AWSCURRENT, AWSPREVIOUS or a custom label)."},
		{Name: "canarySecret", Type: connectors.TypeString, MaxLength: 512, Description: "Secret the functionality check reads."},
	}...),
	CredentialTypes:    []string{connectors.CredBasic},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "An unsigned request to the endpoint: any answer proves it is reachable.",
		contracts.CheckAuthentication: "A signed ListSecrets of one item (with authMethod assumeRole, after assuming the role); an AccessDenied answer still proves the signature was accepted.",
		contracts.CheckFunctionality:  "Reads canarySecret, or lists one secret when there is none.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapReadSecret},
	Example: connectors.Example{
		Config:        map[string]any{"region": "eu-west-1", "canarySecret": "inthub/canary"},
		CredentialRef: "file:///run/secrets/inthub/acme/aws.json",
	},
}
