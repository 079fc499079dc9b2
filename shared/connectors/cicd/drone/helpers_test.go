package drone

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/drone/dronefake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/resilience"
)

// credEnv names the variable holding the token of every test integration.
const credEnv = "DRONE_TOKEN"

// wrongToken is a token the fake does not know.
const wrongToken = "d3JvbmctdG9rZW4tZm9yLWRyb25lLTA5"

// token is a token credential as a secret store returns it.
var token = connectortest.TokenSecret

// newConnector builds a connector of the fake as the runtime does.
func newConnector(t *testing.T, f *dronefake.Server, secret string, config map[string]any) *Connector {
	t.Helper()
	return connectortest.NewConnector(t, connectortest.Setup{
		Spec: Spec, URL: f.URL(), Config: config, EnvVar: credEnv, Secret: secret,
	}).(*Connector)
}

// allSecrets are the values no error text may hold.
var allSecrets = []string{dronefake.AliceToken, dronefake.BobToken, wrongToken}

// checkCode fails unless err carries want ("" = no error), and makes sure
// no error text ever holds a secret.
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
