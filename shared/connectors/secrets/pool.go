package secrets

import (
	"context"
	"log/slog"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// PoolConfig is what a service needs to build its connector pool.
type PoolConfig struct {
	Registry *connectors.Registry
	// Base resolves env:// and file://; it is copied, never mutated, so one
	// resolver may be handed to several services.
	Base    *credentials.Resolver
	Policy  httpx.GuardPolicy
	Metrics httpx.Metrics
	// FindStore finds a secret-store integration by id or unique name within
	// a tenant, in the service's own view of the catalog.
	FindStore func(tenantID, store string) (contracts.Integration, bool)
	Clock     func() time.Time
	Logger    *slog.Logger
}

// NewPool builds a service's connector pool whose vault:// and authref://
// references resolve through the tenant's secret-store integrations (read
// by connectors of the same pool), with the bounded in-memory cache of
// credentials.Stores. Every service that runs connectors builds its pool
// here, so references resolve the same way everywhere.
func NewPool(c PoolConfig) (*runtime.Pool, *credentials.Stores) {
	resolver := credentials.Resolver{}
	if c.Base != nil {
		resolver = *c.Base
	}
	stores := &credentials.Stores{
		Lookup: func(_ context.Context, tenantID, store string) (contracts.Integration, bool) {
			return c.FindStore(tenantID, store)
		},
		Clock: c.Clock, Logger: c.Logger,
	}
	resolver.Stores = stores
	pool := runtime.NewPool(c.Registry, &resolver, c.Policy, c.Metrics)
	stores.Pool = Readers{Pool: pool}
	return pool, stores
}
