package circleci

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci/circlecifake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/resilience"
)

// credEnv names the variable holding the credential of every test
// integration.
const credEnv = "CIRCLECI_CREDENTIALS"

// setup is one test integration of the fake.
type setup struct {
	project string // "" = circlecifake.Project
	secret  string // "" = the fake's token
}

// tokenJSON is a token credential as a secret store returns it.
var tokenJSON = connectortest.TokenSecret

// newConnector builds a connector of f as the runtime does.
func newConnector(t *testing.T, f *circlecifake.Server, s setup) *Connector {
	t.Helper()
	if s.project == "" {
		s.project = circlecifake.Project
	}
	if s.secret == "" {
		s.secret = tokenJSON(circlecifake.Token)
	}
	return connectortest.NewConnector(t, connectortest.Setup{
		Spec: Spec, URL: f.URL(), Config: map[string]any{"projectSlug": s.project}, EnvVar: credEnv, Secret: s.secret,
	}).(*Connector)
}

// allSecrets are the values no error text may hold.
var allSecrets = []string{circlecifake.Token, circlecifake.OtherToken}

// checkCode fails unless err carries want ("" = no error) and no secret.
func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	connectortest.CheckCode(t, err, want, allSecrets...)
}

// The connector tests' shared helpers: the call context and discovery to
// the end of a listing.
var (
	ctxT        = connectortest.CallContext
	discoverAll = connectortest.DiscoverEverything
)
