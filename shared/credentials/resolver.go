package credentials

import (
	"context"

	"github.com/stella-ops/inthub/shared/resilience"
)

// StoreResolver resolves references into secret-store integrations
// (vault://, authref://). The secret-stores issue provides it.
type StoreResolver interface {
	ResolveStore(ctx context.Context, tenantID string, ref Ref) (Secret, error)
}

// Resolver resolves any reference for one tenant: env and file locally,
// vault and authref through Stores (when configured).
type Resolver struct {
	Local  LocalResolver
	Stores StoreResolver
}

// Resolve parses and resolves ref for tenantID.
func (r *Resolver) Resolve(ctx context.Context, tenantID, raw string) (Secret, error) {
	ref, err := ParseRef(raw)
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "credential reference")
	}
	switch ref.Scheme {
	case SchemeEnv, SchemeFile:
		return r.Local.Resolve(ctx, tenantID, ref)
	}
	if r.Stores == nil {
		return nil, resilience.New(resilience.CredentialFetchFailed, "no secret store resolver is configured for %s references", ref.Scheme)
	}
	return r.Stores.ResolveStore(ctx, tenantID, ref)
}
