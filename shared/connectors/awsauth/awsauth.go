// Package awsauth declares how the hub's AWS providers authenticate, once
// for all of them: the config fields (region, authMethod and the role to
// assume) with their rules. It imports nothing heavy, so a provider's spec
// package can use it; the SDK side is awsauth/awsclient.
package awsauth

import (
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
)

// The authentication methods.
const (
	AuthStatic     = "static"
	AuthAssumeRole = "assumeRole"
)

// Region is what a region must look like: it becomes a host name
// (<service>.<region>.amazonaws.com).
var Region = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// RoleARN is the shape of a role to assume.
var RoleARN = regexp.MustCompile(`^arn:[^\s]+$`)

// RegionField is the required region field.
func RegionField() connectors.Field {
	return connectors.Field{Name: "region", Type: connectors.TypeString, Required: true, MaxLength: 64, Pattern: Region,
		PatternDescription: "an AWS region such as eu-west-1", Description: "AWS region, e.g. eu-west-1."}
}

// RoleFields are the fields choosing static keys or an assumed role.
func RoleFields() []connectors.Field {
	return []connectors.Field{
		{Name: "authMethod", Type: connectors.TypeEnum, Enum: []string{AuthStatic, AuthAssumeRole}, Default: AuthStatic,
			Description: "static: sign with the access keys of credentialRef; assumeRole: assume roleArn with them."},
		{Name: "roleArn", Type: connectors.TypeString, MaxLength: 2048, Pattern: RoleARN,
			PatternDescription: "a role ARN (arn:aws:iam::<account>:role/<name>)", Description: "Role to assume (authMethod assumeRole)."},
		{Name: "externalId", Type: connectors.TypeString, MaxLength: 1224, Description: "External ID the role's trust policy requires."},
		{Name: "roleSessionName", Type: connectors.TypeString, MaxLength: 64, Default: "inthub", Description: "Session name of the assumed role."},
		{Name: "stsUrl", Type: connectors.TypeURL, Check: connectors.BaseURL, Description: "STS endpoint override; default https://sts.<region>.amazonaws.com."},
	}
}
