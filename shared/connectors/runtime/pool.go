// Package runtime is the connector runtime: a pool that builds one connector
// per integration revision, reuses it, and closes it when the integration
// changes or goes away; plus the credential source connectors resolve through.
package runtime

import (
	"context"
	"fmt"
	"sync"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Pool builds and caches connectors.
type Pool struct {
	registry *connectors.Registry
	resolver *credentials.Resolver
	policy   httpx.GuardPolicy
	metrics  httpx.Metrics

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	revision uint64
	conn     connectors.Connector
	spec     *connectors.Spec
	client   *httpx.Client
}

// NewPool returns a pool. policy is the operator's outbound address policy;
// metrics may be nil.
func NewPool(reg *connectors.Registry, resolver *credentials.Resolver, policy httpx.GuardPolicy, metrics httpx.Metrics) *Pool {
	return &Pool{registry: reg, resolver: resolver, policy: policy, metrics: metrics, entries: map[string]*entry{}}
}

func poolKey(it contracts.Integration) string { return it.TenantID + "." + it.ID }

// Get returns the connector of it's current revision, building it on first
// use and replacing (and closing) one built for an older revision. The
// connector is a *connectors.Scrubbing: every secret resolved for it, and
// every credential its HTTP client sends, is removed from the texts it
// returns; reach its capabilities with connectors.AsChecker and the like.
func (p *Pool) Get(ctx context.Context, it contracts.Integration) (connectors.Connector, *connectors.Spec, error) {
	k := poolKey(it)
	p.mu.Lock()
	if e, ok := p.entries[k]; ok && e.revision == it.Revision {
		p.mu.Unlock()
		return e.conn, e.spec, nil
	}
	p.mu.Unlock()

	ne, err := p.build(ctx, it)
	if err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.entries[k]; ok {
		if cur.revision >= it.Revision {
			// Someone built the same or a newer revision meanwhile: use theirs.
			closeEntry(ne)
			return cur.conn, cur.spec, nil
		}
		closeEntry(cur)
	}
	p.entries[k] = ne
	return ne.conn, ne.spec, nil
}

func (p *Pool) build(ctx context.Context, it contracts.Integration) (*entry, error) {
	spec, ok := p.registry.Lookup(it.TypeID)
	if !ok {
		return nil, resilience.New(resilience.InvalidConfig, "provider %q is not loaded", it.TypeID)
	}
	if spec.New == nil {
		return nil, resilience.New(resilience.NotSupported, "provider %q has no connector in this build", spec.ID)
	}
	cfg := connectors.NewValues(spec, it.Config)
	scrubber := credentials.NewScrubber(credentials.DefaultScrubValues)
	var clientKey []byte
	if ref := cfg.String("clientKeyRef"); ref != "" && cfg.String("clientCert") != "" {
		s, err := p.resolver.Resolve(ctx, it.TenantID, ref)
		if err != nil {
			return nil, err
		}
		scrubber.AddSecret(s)
		pem, err := s.PEM()
		if err != nil {
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "clientKeyRef")
		}
		clientKey = []byte(pem)
	}
	var client *httpx.Client
	opts := connectors.HTTPOptions(cfg, p.policy, clientKey)
	if spec.OwnTransport {
		// No client is kept for it, but its TLS settings are refused as
		// they were when one was built.
		if err := httpx.Validate(opts); err != nil {
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "HTTP client of %s", it.ID)
		}
	} else {
		opts.Metrics = p.metrics
		opts = connectors.WithScrubber(opts, scrubber)
		var err error
		if client, err = httpx.New(opts); err != nil {
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "HTTP client of %s", it.ID)
		}
	}
	conn, err := spec.New(ctx, connectors.Instance{
		Integration: it,
		Credentials: tenantSource{tenant: it.TenantID, resolver: p.resolver, scrubber: scrubber},
		HTTP:        client,
		Policy:      p.policy,
		Scrubber:    scrubber,
	})
	if err != nil {
		if client != nil {
			client.CloseIdleConnections()
		}
		return nil, scrubber.Error(fmt.Errorf("build %s connector: %w", spec.ID, err))
	}
	return &entry{revision: it.Revision, conn: connectors.Scrub(conn, scrubber), spec: spec, client: client}, nil
}

// Remove closes and forgets the connector of an integration (deleted).
func (p *Pool) Remove(tenantID, integrationID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := tenantID + "." + integrationID
	if e, ok := p.entries[k]; ok {
		closeEntry(e)
		delete(p.entries, k)
	}
}

// Len is the number of live connectors.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

// Close closes every connector.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, e := range p.entries {
		closeEntry(e)
		delete(p.entries, k)
	}
}

func closeEntry(e *entry) {
	_ = e.conn.Close()
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
}

// tenantSource resolves references for one tenant only: a connector can never
// reach another tenant's secret store. Every secret it hands out is added to
// the connector's scrubber first.
type tenantSource struct {
	tenant   string
	resolver *credentials.Resolver
	scrubber *credentials.Scrubber
}

func (s tenantSource) Resolve(ctx context.Context, ref string) (credentials.Secret, error) {
	sec, err := s.resolver.Resolve(ctx, s.tenant, ref)
	if err == nil {
		s.scrubber.AddSecret(sec)
	}
	return sec, err
}
