package testsvc

import (
	"context"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

// EnvCredentials is a connectors.CredentialSource resolving env:// and
// file:// references with credentials.LocalResolver, its environment being
// vars: parallel tests each get their own instead of mutating the process's.
func EnvCredentials(vars map[string]string) connectors.CredentialSource {
	return localSource{credentials.LocalResolver{LookupEnv: func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}}}
}

type localSource struct{ r credentials.LocalResolver }

// Resolve implements connectors.CredentialSource.
func (s localSource) Resolve(ctx context.Context, raw string) (credentials.Secret, error) {
	ref, err := credentials.ParseRef(raw)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "credential reference")
	}
	return s.r.Resolve(ctx, ref)
}
