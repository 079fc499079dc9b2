package ocitest

import (
	"context"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is what a refusal case calls on a vendor's connector.
type Connector interface {
	connectors.Checker
	Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error)
}

// Refusal is one call a vendor's connector must refuse, and the code it
// must refuse it with.
type Refusal struct {
	Name string
	// Config is merged over the vendor's base config by its build func.
	Config map[string]any
	// Secret is the credential's value; empty means the right one.
	Secret string
	// Query is the discovery made, unless Check is set.
	Query connectors.DiscoveryQuery
	// Check runs the authentication check instead of a discovery.
	Check bool
	// Level, if set, runs that health check instead of a discovery.
	Level contracts.CheckType
	// Build, if set, builds this case's connector instead of the run's
	// build func (a connector on another server).
	Build func(t *testing.T, config map[string]any, secret string) Connector
	Want  resilience.Code
}

// RunRefusals runs each case in parallel on a connector build makes from
// the case's config and secret (right when the case names none), and
// fails unless the call answers the case's code with none of secrets in
// its text.
func RunRefusals(t *testing.T, cases []Refusal, right string,
	build func(t *testing.T, config map[string]any, secret string) Connector, secrets ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			secret := tc.Secret
			if secret == "" {
				secret = right
			}
			b := build
			if tc.Build != nil {
				b = tc.Build
			}
			c := b(t, tc.Config, secret)
			ctx := Context(t)
			var err error
			switch {
			case tc.Check:
				err = c.CheckAuthentication(ctx)
			case tc.Level != "":
				err = connectortest.Level(tc.Level, c)(ctx)
			default:
				_, err = c.Discover(ctx, tc.Query)
			}
			connectortest.CheckCode(t, err, tc.Want, secrets...)
		})
	}
}
