// Package awssm is the AWS Secrets Manager provider: a secret store that
// credential references read from, through the official SDK
// (aws-sdk-go-v2/service/secretsmanager) on the hub's guarded HTTP client.
// It signs with static access keys from its credentialRef, or with the
// temporary credentials of a role it assumes with them (STS AssumeRole).
//
// Health: connectivity is an unsigned request to the endpoint (any answer
// proves it is reachable); authentication is a signed ListSecrets of one
// item (an AccessDenied answer still proves the signature was accepted);
// functionality reads the canary secret, or lists when there is none.
package awssm

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the spec's type id.
const ProviderID = "aws-secrets-manager"

// The authentication methods.
const (
	AuthStatic     = "static"
	AuthAssumeRole = "assumeRole"
)

// DefaultVersionStage is the staging label read when none is configured.
const DefaultVersionStage = "AWSCURRENT"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "AWS Secrets Manager",
	Description: "AWS Secrets Manager: credential references vault://<this integration>/<secret name>#<key> read a secret's current version (or a configured staging label).",
	Category:    connectors.CategorySecretStore,
	Fields: []connectors.Field{
		{Name: "region", Type: connectors.TypeString, Required: true, MaxLength: 64, Description: "AWS region, e.g. eu-west-1."},
		{Name: "url", Type: connectors.TypeURL, Description: "Endpoint override (a VPC endpoint); default https://secretsmanager.<region>.amazonaws.com."},
		{Name: "authMethod", Type: connectors.TypeEnum, Enum: []string{AuthStatic, AuthAssumeRole}, Default: AuthStatic,
			Description: "static: sign with the access keys of credentialRef; assumeRole: assume roleArn with them."},
		{Name: "roleArn", Type: connectors.TypeString, MaxLength: 2048, Description: "Role to assume (authMethod assumeRole)."},
		{Name: "externalId", Type: connectors.TypeString, MaxLength: 1224, Description: "External ID the role's trust policy requires."},
		{Name: "roleSessionName", Type: connectors.TypeString, MaxLength: 64, Default: "inthub", Description: "Session name of the assumed role."},
		{Name: "stsUrl", Type: connectors.TypeURL, Description: "STS endpoint override; default https://sts.<region>.amazonaws.com."},
		{Name: "versionStage", Type: connectors.TypeString, MaxLength: 256, Default: DefaultVersionStage,
			Description: "Staging label of the version read (AWSCURRENT, AWSPREVIOUS or a custom label)."},
		{Name: "canarySecret", Type: connectors.TypeString, MaxLength: 512, Description: "Secret the functionality check reads."},
	},
	CredentialTypes:    []string{connectors.CredBasic},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	Capabilities:       []connectors.Capability{connectors.CapCheck, connectors.CapReadSecret},
	New:                New,
}
