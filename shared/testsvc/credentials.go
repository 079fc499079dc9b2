package testsvc

import (
	"context"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

// EnvCredentials is a connectors.CredentialSource for connector tests:
// env://NAME is vars[NAME], read as the hub reads a local secret
// (credentials.SecretFromText); every other reference is INVALID_CONFIG.
// Parallel tests each get their own variables instead of mutating the
// process's. It stands for the tenant-bound resolver a connector gets in the
// services, whose policy (credentials.LocalPolicy) is tested on its own.
func EnvCredentials(vars map[string]string) connectors.CredentialSource {
	return envSource(vars)
}

type envSource map[string]string

// Resolve implements connectors.CredentialSource.
func (s envSource) Resolve(_ context.Context, raw string) (credentials.Secret, error) {
	ref, err := credentials.ParseRef(raw)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "credential reference")
	}
	if ref.Scheme != credentials.SchemeEnv {
		return nil, resilience.New(resilience.InvalidConfig, "the test credentials resolve env:// references only")
	}
	v, ok := s[ref.Path]
	if !ok || v == "" {
		return nil, resilience.New(resilience.CredentialFetchFailed, "environment variable %s is not set", ref.Path)
	}
	return credentials.SecretFromText(v), nil
}
