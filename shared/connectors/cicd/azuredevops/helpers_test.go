package azuredevops

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/azuredevops/azuredevopsfake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/resilience"
)

// credEnv names the variable holding the credential of every test
// integration.
const credEnv = "AZURE_DEVOPS_CREDENTIALS"

// setup is one test integration of the fake.
type setup struct {
	config map[string]any // beyond url, organization and project
	secret string         // "" = the fake's token
	noRef  bool
}

// tokenJSON is a token credential as a secret store returns it.
var tokenJSON = connectortest.TokenSecret

// newConnector builds a connector of f as the runtime does.
func newConnector(t *testing.T, f *azuredevopsfake.Server, s setup) *Connector {
	t.Helper()
	cfg := map[string]any{"organization": azuredevopsfake.Org, "project": azuredevopsfake.Project}
	for k, v := range s.config {
		cfg[k] = v
	}
	if s.secret == "" {
		s.secret = tokenJSON(azuredevopsfake.Token)
	}
	return connectortest.NewConnector(t, connectortest.Setup{
		Spec: Spec, URL: f.URL(), Config: cfg, EnvVar: credEnv, Secret: s.secret, NoRef: s.noRef,
	}).(*Connector)
}

// allSecrets are the values no error text may hold.
var allSecrets = []string{azuredevopsfake.Token, azuredevopsfake.OtherOrgToken}

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
