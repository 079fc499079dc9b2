package githubactions

import (
	"maps"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/resilience"

	"github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/githubactionsfake"
)

// credEnv names the variable holding the credential of every test
// integration; each test gives it its own value through
// testsvc.EnvCredentials.
const credEnv = "GITHUB_TOKEN"

// setup is one test integration.
type setup struct {
	spec   *connectors.Spec
	url    string
	config map[string]any // beyond url
	secret string         // value of GITHUB_TOKEN; "" = unset
	noRef  bool           // no credentialRef at all
}

// newConn builds a connector as the runtime does (connectortest.NewConnector).
func newConn(t *testing.T, s setup) connectors.Connector {
	t.Helper()
	return connectortest.NewConnector(t, connectortest.Setup{
		Spec: s.spec, URL: s.url, Config: s.config, EnvVar: credEnv, Secret: s.secret, NoRef: s.noRef,
	})
}

// newConnector builds a connector for the fake's repository, its clock set
// to the fake's so reset times give exact waits.
func newConnector(t *testing.T, f *githubactionsfake.GitHub, s setup) *Connector {
	s.spec, s.url = Spec, f.URL()
	cfg := map[string]any{"owner": githubactionsfake.Owner, "repo": githubactionsfake.Repo}
	maps.Copy(cfg, s.config)
	s.config = cfg
	c := newConn(t, s).(*Connector)
	c.hc.Now = func() time.Time { return f.Now() }
	return c
}

// allSecrets are the values no error text may hold.
var allSecrets = []string{githubactionsfake.UserToken, githubactionsfake.InstallToken, githubactionsfake.OtherToken, githubactionsfake.ReadToken, githubactionsfake.WrongToken}

// checkCode fails unless err carries want ("" = no error), and makes sure
// no error text ever holds a secret.
func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	connectortest.CheckCode(t, err, want, allSecrets...)
}

// The connector tests' shared helpers: the call context, discovery to the
// end of a listing and retry on a fake timer.
var (
	ctxT        = connectortest.CallContext
	discoverAll = connectortest.DiscoverEverything
	retry       = connectortest.RetryCall
)
