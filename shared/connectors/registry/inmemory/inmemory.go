// Package inmemory is the test-only provider: a registry that lives in the
// integration's config, whose failure modes a test sets through that config.
// It is hidden from GET /providers unless includeTestOnly is asked for.
package inmemory

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory/spec"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Failure modes a test can set in config.failureMode.
const (
	FailNone              = spec.FailNone
	FailConnectionRefused = spec.FailConnectionRefused
	FailAuthentication    = spec.FailAuthentication
	FailRateLimited       = spec.FailRateLimited
	FailTimeout           = spec.FailTimeout
	FailFunctionality     = spec.FailFunctionality
)

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Connector is the inmemory connector.
type Connector struct {
	mode         string
	latency      time.Duration
	retryAfter   time.Duration
	repositories []string
	tags         []string
}

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	return &Connector{
		mode: cfg.String("failureMode"), latency: cfg.Duration("latencyMs", time.Millisecond),
		retryAfter:   cfg.Duration("retryAfterSeconds", time.Second),
		repositories: cfg.Strings("repositories"), tags: cfg.Strings("tags"),
	}, nil
}

// Close does nothing: the connector holds no resources.
func (c *Connector) Close() error { return nil }

func (c *Connector) call(ctx context.Context, level contracts.CheckType) error {
	if c.latency > 0 {
		t := time.NewTimer(c.latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return resilience.Wrap(resilience.Timeout, ctx.Err(), "inmemory %s check", level)
		case <-t.C:
		}
	}
	switch c.mode {
	case FailConnectionRefused:
		return resilience.New(resilience.ConnectionRefused, "inmemory: connection refused (failure mode)")
	case FailAuthentication:
		if level != contracts.CheckConnectivity {
			return resilience.New(resilience.AuthenticationFailed, "inmemory: credentials rejected (failure mode)")
		}
	case FailRateLimited:
		return &resilience.Error{Code: resilience.RateLimited, Message: "inmemory: rate limited (failure mode)", RetryAfter: c.retryAfter}
	case FailTimeout:
		<-ctx.Done()
		return resilience.Wrap(resilience.Timeout, ctx.Err(), "inmemory: no answer (failure mode)")
	case FailFunctionality:
		if level == contracts.CheckFunctionality {
			return resilience.New(resilience.UpstreamError, "inmemory: operation failed (failure mode)")
		}
	}
	return nil
}

// CheckConnectivity implements connectors.Checker.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.call(ctx, contracts.CheckConnectivity)
}

// CheckAuthentication implements connectors.Checker.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	return c.call(ctx, contracts.CheckAuthentication)
}

// CheckFunctionality implements connectors.Checker.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	return c.call(ctx, contracts.CheckFunctionality)
}

// Discover implements connectors.Discoverer over the configured names, with
// the cursor being the index of the next item.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	if err := c.call(ctx, contracts.CheckFunctionality); err != nil {
		return connectors.DiscoveryPage{}, err
	}
	var names []string
	switch q.ResourceType {
	case "repositories":
		names = c.repositories
	case "tags":
		if q.Filter.Repository == "" {
			return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "tags discovery needs filter.repository")
		}
		if !slices.Contains(c.repositories, q.Filter.Repository) {
			return connectors.DiscoveryPage{}, resilience.New(resilience.ResourceNotFound, "repository %q not found", q.Filter.Repository)
		}
		names = c.tags
	default:
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported, "resource type %q", q.ResourceType)
	}
	start := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 || n > len(names) {
			return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "bad cursor")
		}
		start = n
	}
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	size := kit.PageSize(q.PageSize, 100, 1000)
	var page connectors.DiscoveryPage
	i := start
	for ; i < len(names) && len(page.Items) < size; i++ {
		if !pattern.Match(names[i]) {
			continue
		}
		page.Items = append(page.Items, contracts.Resource{Type: q.ResourceType, Name: names[i]})
	}
	if i < len(names) {
		page.NextCursor = fmt.Sprint(i)
	}
	return page, nil
}
