package cicdtest

import (
	"context"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

// CheckDiscoveryThrottled checks how c meets a throttled provider: after
// throttleCheck, the functionality check is RATE_LIMITED with wait as its
// retry-after; after throttleList, a discovery of resourceType is retried
// once, after wait. No error text may hold any of secrets.
func CheckDiscoveryThrottled(t *testing.T, c interface {
	connectors.Checker
	connectors.Discoverer
}, throttleCheck, throttleList func(), resourceType string, wait time.Duration, secrets ...string) {
	t.Helper()
	throttleCheck()
	err := c.CheckFunctionality(connectortest.CallContext(t))
	connectortest.CheckRetryAfter(t, err, wait, secrets...)
	throttleList()
	connectortest.CheckRetried(t, func(ctx context.Context) error {
		_, err := c.Discover(ctx, connectors.DiscoveryQuery{ResourceType: resourceType})
		return err
	}, []time.Duration{wait}, secrets...)
}
