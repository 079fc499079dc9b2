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

import "github.com/stella-ops/inthub/shared/connectors/secrets/awssm/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID          = spec.ProviderID
	AuthStatic          = spec.AuthStatic
	AuthAssumeRole      = spec.AuthAssumeRole
	DefaultVersionStage = spec.DefaultVersionStage
)
