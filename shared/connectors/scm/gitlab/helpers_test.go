package gitlab

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/resilience"

	"github.com/stella-ops/inthub/shared/connectors/scm/gitlab/gitlabfake"
)

// credEnv names the variable holding the credential of every test
// integration; each test gives it its own value through
// testsvc.EnvCredentials.
const credEnv = "GITLAB_TOKEN"

// setup is one test integration.
type setup struct {
	spec   *connectors.Spec
	url    string
	config map[string]any // beyond url
	secret string         // value of GITLAB_TOKEN; "" = unset
	noRef  bool           // no credentialRef at all
}

// newConn builds a connector as the runtime does (connectortest.NewConnector).
func newConn(t *testing.T, s setup) connectors.Connector {
	t.Helper()
	return connectortest.NewConnector(t, connectortest.Setup{
		Spec: s.spec, URL: s.url, Config: s.config, EnvVar: credEnv, Secret: s.secret, NoRef: s.noRef,
	})
}

func newSCM(t *testing.T, s setup) *Connector {
	s.spec = Spec
	return newConn(t, s).(*Connector)
}

func newCI(t *testing.T, s setup) *CIConnector {
	s.spec = CISpec
	if s.config == nil {
		s.config = map[string]any{}
	}
	if _, ok := s.config["projectId"]; !ok {
		s.config["projectId"] = "team/app"
	}
	return newConn(t, s).(*CIConnector)
}

// allSecrets are the values no error text may hold.
var allSecrets = []string{gitlabfake.PatAPI, gitlabfake.PatReadAPI, gitlabfake.PatReadUser, gitlabfake.OAuthToken, "glpat-wrong-0000000000"}

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
