package vault

import (
	"context"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the hashicorp-vault connector of one integration revision.
// It keeps the Vault token it obtained (never the credential it logged in
// with) until the token expires or is refused.
type Connector struct {
	addr      string
	namespace string
	mount     string
	kv2       bool
	canary    string

	auth          authConfig
	credentialRef string
	credentials   connectors.CredentialSource

	http *httpx.Client
	// vc carries the session's token; login never has one, so a login
	// request cannot send a stale token along.
	vc, login *api.Client
	session   session
	edition   editionCheck
	recent    readPaths
	opts      options
}

// authConfig is how the connector logs in.
type authConfig struct {
	method      string
	mount       string
	roleID      string
	secretIDRef string
	k8sRole     string
	k8sToken    string
}

// options are the connector's injectable dependencies.
type options struct {
	now          func() time.Time
	readFile     func(string) ([]byte, error)
	allowAmbient func() bool
}

func defaultOptions() options {
	return options{now: time.Now, readFile: os.ReadFile, allowAmbient: secrets.AmbientAllowed}
}

var (
	_ connectors.Checker      = (*Connector)(nil)
	_ connectors.SecretReader = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	return newConnector(in, defaultOptions())
}

// Factory returns a factory like New whose connectors read the time from
// now: token TTLs and renewals follow it (tests pass the fake Vault's clock).
func Factory(now func() time.Time) connectors.Factory {
	return func(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
		opts := defaultOptions()
		opts.now = now
		return newConnector(in, opts)
	}
}

func newConnector(in connectors.Instance, opts options) (*Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	addr, err := parseAddress(cfg.String("url"))
	if err != nil {
		return nil, err
	}
	c := &Connector{
		addr: addr, namespace: strings.Trim(cfg.String("namespace"), "/"),
		mount: strings.Trim(cfg.String("mountPath"), "/"), kv2: cfg.String("kvVersion") != "1",
		canary:        strings.Trim(cfg.String("canaryPath"), "/"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
		opts: opts,
	}
	if err := checkPath("mountPath", c.mount); err != nil {
		return nil, err
	}
	if c.canary != "" {
		if err := checkPath("canaryPath", c.canary); err != nil {
			return nil, err
		}
	}
	if c.auth, err = parseAuth(cfg, in.Integration.CredentialRef, opts); err != nil {
		return nil, err
	}
	hc, err := kit.NewClient(in)
	if err != nil {
		return nil, err
	}
	c.http = hc.HTTP
	if c.vc, err = c.newAPIClient(); err != nil {
		return nil, err
	}
	if c.login, err = c.newAPIClient(); err != nil {
		return nil, err
	}
	c.session.now = opts.now
	return c, nil
}

// parseAuth reads and checks the auth method's fields.
func parseAuth(cfg connectors.Values, credentialRef string, opts options) (authConfig, error) {
	a := authConfig{
		method: cfg.String("authMethod"), mount: strings.Trim(cfg.String("authMountPath"), "/"),
		roleID: cfg.String("roleId"), secretIDRef: cfg.String("secretIdRef"),
		k8sRole: cfg.String("kubernetesRole"), k8sToken: cfg.String("kubernetesTokenPath"),
	}
	if err := secrets.CheckLocalRef("credentialRef", credentialRef); err != nil {
		return a, err
	}
	if err := secrets.CheckLocalRef("secretIdRef", a.secretIDRef); err != nil {
		return a, err
	}
	switch a.method {
	case AuthToken:
		if credentialRef == "" {
			return a, resilience.New(resilience.InvalidConfig, "authMethod token needs credentialRef (an env:// or file:// reference to the Vault token)")
		}
	case AuthAppRole:
		if a.roleID == "" || a.secretIDRef == "" {
			return a, resilience.New(resilience.InvalidConfig, "authMethod approle needs config fields roleId and secretIdRef")
		}
		if a.mount == "" {
			a.mount = "approle"
		}
	case AuthKubernetes:
		if !opts.allowAmbient() {
			return a, resilience.New(resilience.InvalidConfig,
				"authMethod kubernetes logs in as the hub's own service account; the operator has not allowed that (%s=true)", secrets.AmbientEnv)
		}
		if a.k8sRole == "" {
			return a, resilience.New(resilience.InvalidConfig, "authMethod kubernetes needs config field kubernetesRole")
		}
		if clean := path.Clean(a.k8sToken); clean != a.k8sToken || !strings.HasPrefix(clean, kubernetesTokenDir) {
			return a, resilience.New(resilience.InvalidConfig, "config field kubernetesTokenPath must be a clean path under %s", kubernetesTokenDir)
		}
		if a.mount == "" {
			a.mount = "kubernetes"
		}
	default:
		return a, resilience.New(resilience.InvalidConfig, "config field authMethod must be token, approle or kubernetes")
	}
	if a.mount != "" {
		if err := checkPath("authMountPath", a.mount); err != nil {
			return a, err
		}
	}
	return a, nil
}

// newAPIClient builds a vault/api client on the guarded HTTP client. The
// library also reads VAULT_TOKEN, VAULT_NAMESPACE and VAULT_HEADERS from the
// hub's environment: all three are undone, so no integration ever acts with
// the hub's own Vault identity.
func (c *Connector) newAPIClient() (*api.Client, error) {
	vc, err := api.NewClient(&api.Config{
		Address:    c.addr,
		HttpClient: c.http.HTTPClient(),
		// Retries are decided by code in resilience, not inside the client.
		MaxRetries: 0,
		// Vault's redirects (standby to active) are followed by the guarded
		// client, whose guard checks every hop.
		DisableRedirects: true,
	})
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "Vault client")
	}
	vc.ClearToken()
	vc.SetHeaders(http.Header{api.RequestHeaderName: {"true"}})
	if c.namespace != "" {
		vc.SetNamespace(c.namespace)
	}
	return vc, nil
}

// parseAddress accepts an absolute http(s) URL without user info, query or
// fragment.
func parseAddress(raw string) (string, error) {
	u, err := kit.ParseBaseURL("url", raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// checkPath accepts a relative Vault path of plain segments (the
// declaration's PlainPath rule).
func checkPath(field, p string) error {
	if p == "" {
		return resilience.New(resilience.InvalidConfig, "config field %q is required", field)
	}
	if err := connectors.PlainPath(p); err != nil {
		return resilience.New(resilience.InvalidConfig, "config field %q %s", field, err.Error())
	}
	return nil
}

// Close forgets the token; the runtime owns the HTTP client. The token is
// not revoked: it may be a static token the operator gave, and login tokens
// expire by their TTL.
func (c *Connector) Close() error {
	c.session.clear()
	c.vc.ClearToken()
	return nil
}
