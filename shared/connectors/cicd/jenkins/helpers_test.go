package jenkins

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/resilience"

	"github.com/stella-ops/inthub/shared/connectors/cicd/jenkins/jenkinsfake"
)

// credEnv names the variable holding the credential of every test
// integration; each test gives it its own value through
// testsvc.EnvCredentials.
const credEnv = "JENKINS_CREDENTIALS"

// setup is one test integration.
type setup struct {
	spec   *connectors.Spec
	url    string
	config map[string]any // beyond url
	secret string         // value of JENKINS_CREDENTIALS; "" = unset
	noRef  bool           // no credentialRef at all
}

// newConn builds a connector as the runtime does (connectortest.NewConnector).
func newConn(t *testing.T, s setup) connectors.Connector {
	t.Helper()
	return connectortest.NewConnector(t, connectortest.Setup{
		Spec: s.spec, URL: s.url, Config: s.config, EnvVar: credEnv, Secret: s.secret, NoRef: s.noRef,
	})
}

// newConnector builds a connector of the fake.
func newConnector(t *testing.T, f *jenkinsfake.Jenkins, s setup) *Connector {
	s.spec, s.url = Spec, f.URL()
	return newConn(t, s).(*Connector)
}

// basic is a basic credential as a secret store returns it.
func basic(user, secret string) string {
	return `{"username":"` + user + `","password":"` + secret + `"}`
}

// allSecrets are the values no error text may hold.
var allSecrets = []string{jenkinsfake.AliceToken, jenkinsfake.AlicePassword, jenkinsfake.BobToken, "wrong-token-123456"}

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
