package kit

import (
	"context"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Resolve fetches the secret behind ref for one call. what names it in
// errors ("the GitLab token"). A failure keeps the code the resolver gave
// (INVALID_CONFIG for a reference the tenant may not use) and is otherwise
// CREDENTIAL_FETCH_FAILED, which is retried.
func Resolve(ctx context.Context, src connectors.CredentialSource, ref, what string) (credentials.Secret, error) {
	if src == nil {
		return nil, resilience.New(resilience.CredentialFetchFailed, "resolve %s: no credential source is configured", what)
	}
	s, err := src.Resolve(ctx, ref)
	if err != nil {
		return nil, resilience.WrapDefault(resilience.CredentialFetchFailed, err, "resolve %s", what)
	}
	return s, nil
}
